"""Account forms, built from each provider's declared settings and secrets.

Secrets are write-only: rendered empty, never echoed back after an error.
"""

from __future__ import annotations

from django import forms

from dashboard.accounts.services import AccountInputError, account_clean


class AccountForm(forms.Form):
    name = forms.CharField(max_length=100)
    base_url = forms.CharField(
        label="Base URL",
        max_length=500,
        required=False,
        help_text="The provider's API root; the documented paths are appended to it.",
    )

    def __init__(self, *args, provider_class, with_secrets: bool, instance=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.provider_class = provider_class
        self.instance = instance
        self.cleaned_account = None
        self.fields["base_url"].widget.attrs["placeholder"] = provider_class.default_base_url or (
            provider_class.base_url_help
        )
        if provider_class.base_url_help:
            self.fields["base_url"].help_text = provider_class.base_url_help
        if not provider_class.default_base_url:
            self.fields["base_url"].required = True
        for field in provider_class.settings:
            name = f"setting_{field.name}"
            if field.choices:
                self.fields[name] = forms.ChoiceField(
                    label=field.label,
                    choices=[(c, c) for c in field.choices],
                    required=field.required and not field.default,
                    initial=field.default,
                    help_text=field.help_text,
                )
            else:
                self.fields[name] = forms.CharField(
                    label=field.label,
                    required=field.required and not field.default,
                    initial=field.default,
                    help_text=field.help_text,
                )
        self.with_secrets = with_secrets
        if with_secrets:
            for field in provider_class.secrets:
                self.fields[f"secret_{field.name}"] = forms.CharField(
                    label=field.label,
                    help_text=field.help_text,
                    strip=True,
                    widget=forms.PasswordInput(
                        render_value=False, attrs={"autocomplete": "new-password"}
                    ),
                )

    def setting_fields(self):
        return [self[f"setting_{f.name}"] for f in self.provider_class.settings]

    def secret_fields(self):
        if not self.with_secrets:
            return []
        return [self[f"secret_{f.name}"] for f in self.provider_class.secrets]

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        settings = {f.name: data.get(f"setting_{f.name}", "") for f in self.provider_class.settings}
        secrets = (
            {f.name: data.get(f"secret_{f.name}", "") for f in self.provider_class.secrets}
            if self.with_secrets
            else None
        )
        try:
            self.cleaned_account = account_clean(
                provider=self.provider_class.key,
                name=data.get("name", ""),
                base_url=data.get("base_url", ""),
                settings=settings,
                secrets=secrets,
                instance=self.instance,
            )
        except AccountInputError as exc:
            for key, message in exc.errors.items():
                field = key.replace("setting:", "setting_").replace("secret:", "secret_")
                self.add_error(field if field in self.fields else None, message)
        return data

    def settings_data(self) -> dict:
        return {
            f.name: self.cleaned_data.get(f"setting_{f.name}", "")
            for f in self.provider_class.settings
        }

    def secrets_data(self) -> dict:
        return {
            f.name: self.cleaned_data.get(f"secret_{f.name}", "")
            for f in self.provider_class.secrets
        }

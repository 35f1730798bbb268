"""Account forms, built from each provider's declared settings and secrets.

A form checks each field's shape; the provider's rules and the unique name are the
service's to check (the one place that also serves the commands), and its errors come
back onto the fields through :meth:`AccountForm.add_service_errors`.

Secrets are write-only: rendered empty, never echoed back after an error.
"""

from __future__ import annotations

from django import forms
from django.conf import settings as django_settings
from django.core.validators import MaxValueValidator

from dashboard.accounts.services import AccountInputError
from integrations.provider import SettingsError


class AccountForm(forms.Form):
    name = forms.CharField(max_length=100)
    base_url = forms.CharField(
        label="Base URL",
        max_length=500,
        required=False,
        help_text="The provider's API root; the documented paths are appended to it.",
    )

    def __init__(
        self,
        *args,
        provider_class,
        with_secrets: bool,
        secrets_optional: bool = False,
        sandbox_url: str = "",
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.provider_class = provider_class
        self.fields["base_url"].widget.attrs["placeholder"] = provider_class.default_base_url or (
            provider_class.base_url_help
        )
        if provider_class.base_url_help:
            self.fields["base_url"].help_text = provider_class.base_url_help
        if sandbox_url:
            self.fields[
                "base_url"
            ].help_text += (
                f" This console's own {provider_class.label} sandbox answers at {sandbox_url}."
            )
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
                    required=not secrets_optional,
                    help_text=(
                        "Only when you change the base URL: type the account's current key "
                        "again. The stored key is never sent to a new address unseen."
                        if secrets_optional
                        else field.help_text
                    ),
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

    def add_service_errors(self, error: AccountInputError) -> None:
        """Show the service's verdict (provider rules, unique name) next to each field."""
        for key, message in error.errors.items():
            field = key.replace("setting:", "setting_").replace("secret:", "secret_")
            self.add_error(field if field in self.fields else None, message)

    def settings_data(self) -> dict:
        return {
            f.name: self.cleaned_data.get(f"setting_{f.name}", "")
            for f in self.provider_class.settings
        }

    @property
    def secrets_cleared(self) -> bool:
        """Whether a refused submission had keys typed (never echoed back: say so)."""
        return self.is_bound and any(
            self.data.get(f"secret_{f.name}") for f in self.provider_class.secrets
        )

    def secrets_data(self) -> dict:
        return {
            f.name: self.cleaned_data.get(f"secret_{f.name}", "")
            for f in self.provider_class.secrets
        }


class RotationForm(forms.Form):
    """A new key (or Octy's pair) for an account, and how long the old one keeps working."""

    overlap_hours = forms.IntegerField(
        label="Overlap window (hours)",
        min_value=0,
        help_text="After the new key is promoted, the current one keeps working this long; "
        "you can roll back until then.",
    )

    def __init__(self, *args, provider_class, **kwargs):
        super().__init__(*args, **kwargs)
        self.provider_class = provider_class
        self.fields["overlap_hours"].initial = django_settings.CREDENTIAL_OVERLAP_HOURS
        self.fields["overlap_hours"].widget.attrs["max"] = (
            django_settings.CREDENTIAL_MAX_OVERLAP_HOURS
        )
        most = django_settings.CREDENTIAL_MAX_OVERLAP_HOURS
        self.fields["overlap_hours"].validators.append(
            MaxValueValidator(
                most,
                message=f"At most {most} hours ({most // 24} days): the old key "
                "cannot stay alive longer than that.",
            )
        )
        for field in provider_class.secrets:
            self.fields[f"secret_{field.name}"] = forms.CharField(
                label=f"New {field.label}",
                help_text=field.help_text,
                strip=True,
                widget=forms.PasswordInput(
                    render_value=False, attrs={"autocomplete": "new-password"}
                ),
            )

    def clean(self):
        # The provider's shape rules for the key run here too, so a bad key and a bad
        # overlap are reported in one round (#16 defect 3); the service checks again.
        cleaned = super().clean()
        typed = {
            f.name: cleaned[f"secret_{f.name}"]
            for f in self.provider_class.secrets
            if cleaned.get(f"secret_{f.name}")
        }
        if len(typed) == len(self.provider_class.secrets):
            try:
                self.provider_class.clean_secrets(typed)
            except SettingsError as exc:
                for name, message in exc.errors.items():
                    field = f"secret_{name}"
                    self.add_error(field if field in self.fields else None, message)
        return cleaned

    @property
    def secrets_cleared(self) -> bool:
        """Whether a refused submission had keys typed (never echoed back: say so)."""
        return self.is_bound and any(
            self.data.get(f"secret_{f.name}") for f in self.provider_class.secrets
        )

    def secret_fields(self):
        return [self[f"secret_{f.name}"] for f in self.provider_class.secrets]

    def secrets_data(self) -> dict:
        return {
            f.name: self.cleaned_data.get(f"secret_{f.name}", "")
            for f in self.provider_class.secrets
        }

    def add_service_errors(self, error: AccountInputError) -> None:
        for key, message in error.errors.items():
            field = key.replace("secret:", "secret_")
            self.add_error(field if field in self.fields else None, message)

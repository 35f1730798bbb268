from __future__ import annotations

from django import forms
from django.core.validators import MaxValueValidator

from dashboard.accounts.models import ConnectedAccount
from dashboard.events.preparing import event_providers


def track_accounts():
    keys = [p.key for p in event_providers()]
    return ConnectedAccount.objects.filter(provider__in=keys, is_enabled=True).order_by("name")


def _payload_help() -> str:
    bodies = "; ".join(f"{p.label}, {p.events.payload_help}" for p in event_providers())
    return f"The provider's own event body: {bodies}. Missing ids and timestamps are filled in."


class ComposeForm(forms.Form):
    """The composer; each provider's extra fields (its adapter's ``options``) are added
    as optional fields and shown only for that provider's accounts."""

    account = forms.ModelChoiceField(queryset=ConnectedAccount.objects.none(), empty_label=None)
    event_type = forms.CharField(
        max_length=100,
        required=False,
        help_text="Leave empty to take it from the payload (event_name, type or event_type).",
    )
    payload = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 16, "class": "mono", "spellcheck": "false"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = track_accounts()
        self.fields["payload"].help_text = _payload_help()
        self.option_names: list[str] = []
        for provider in event_providers():
            for option in provider.events.options:
                if option.name in self.fields:
                    continue
                self.option_names.append(option.name)
                self.fields[option.name] = forms.CharField(
                    required=False, label=option.label, help_text=option.help_text
                )

    def option_fields(self, account) -> list:
        """The bound extra fields of ``account``'s provider, for the page."""
        provider = next(
            (p for p in event_providers() if account and p.key == account.provider), None
        )
        return [self[option.name] for option in provider.events.options] if provider else []

    def options(self) -> dict:
        values = {name: self.cleaned_data.get(name, "").strip() for name in self.option_names}
        return {name: value for name, value in values.items() if value}


class PaceForm(forms.Form):
    """An account's own delivery pace; both fields empty: the provider's default."""

    rate = forms.FloatField(
        required=False,
        min_value=0,
        max_value=100_000,
        label="Requests",
        help_text="Empty: the provider's default. 0: unpaced (no limit at all).",
    )
    per = forms.ChoiceField(
        choices=[("second", "per second"), ("minute", "per minute")], initial="second"
    )
    concurrency = forms.IntegerField(
        required=False,
        min_value=1,
        label="In flight at once",
        help_text="Empty: the default.",
    )

    def __init__(self, *args, max_concurrency: int, **kwargs):
        super().__init__(*args, **kwargs)
        # As many as the pooled session keeps connections for, no more.
        self.fields["concurrency"].max_value = max_concurrency
        self.fields["concurrency"].validators.append(MaxValueValidator(max_concurrency))
        self.fields["concurrency"].widget.attrs["max"] = max_concurrency

    def requests_per_second(self) -> float | None:
        rate = self.cleaned_data.get("rate")
        if rate is None:
            return None
        return rate / 60 if self.cleaned_data.get("per") == "minute" else rate

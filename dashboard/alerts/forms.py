"""Forms of the Alerts page (validation of meaning stays in services/rules)."""

from __future__ import annotations

from django import forms

from dashboard.accounts.selectors import account_list
from dashboard.alerts import transport
from dashboard.alerts.rules import KIND_CHOICES, KINDS
from integrations.errors import KIND_LABELS
from integrations.registry import provider_choices

PARAM_NAMES = sorted({p.name for kind in KINDS.values() for p in kind.params})


class RuleForm(forms.Form):
    kind = forms.ChoiceField(choices=KIND_CHOICES, label="When")
    destinations = forms.TypedMultipleChoiceField(coerce=int, required=False, label="Send to")
    provider = forms.ChoiceField(required=False)
    account = forms.ModelChoiceField(queryset=None, required=False, empty_label="Any account")
    error_kind = forms.ChoiceField(required=False, label="Error kind")

    def __init__(self, *args, destination_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["destinations"].choices = list(destination_choices)
        self.fields["provider"].choices = [("", "Any provider"), *provider_choices()]
        self.fields["account"].queryset = account_list()
        self.fields["error_kind"].choices = [("", "Any error kind"), *sorted(KIND_LABELS.items())]
        for name in PARAM_NAMES:
            self.fields[name] = forms.IntegerField(required=False, label=name.replace("_", " "))

    def param_fields(self) -> list:
        return [self[name] for name in PARAM_NAMES]

    def params(self) -> dict:
        spec = {p.name for p in KINDS[self.cleaned_data["kind"]].params}
        return {n: self.cleaned_data[n] for n in spec if self.cleaned_data.get(n) is not None}


class DestinationForm(forms.Form):
    target = forms.CharField(
        max_length=2000,
        label="Email address or URL",
        help_text="An email address; a Slack, Teams, Discord or PagerDuty URL (any service "
        "apprise knows); or any other http(s) URL for a signed JSON webhook.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    label = forms.CharField(max_length=100, required=False)

    def clean_target(self) -> str:
        # Checked here as well as in the service so a bad label and a bad target are
        # both reported at once (the service alone would only see a valid form).
        target = self.cleaned_data["target"]
        try:
            transport.classify(target)
        except transport.DestinationInvalid as exc:
            raise forms.ValidationError(str(exc)) from None
        return target


class SnoozeForm(forms.Form):
    hours = forms.IntegerField(min_value=0, max_value=24 * 30, help_text="0 wakes it up.")

"""The Audit page's filters."""

from __future__ import annotations

from django import forms

from dashboard.accounts.audit_selectors import (
    AuditFilters,
    audit_action_choices,
    audit_actor_choices,
)
from dashboard.accounts.models import ConnectedAccount


class AuditFilterForm(forms.Form):
    actor = forms.ChoiceField(required=False, label="Who")
    account = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    action = forms.ChoiceField(required=False)
    since = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["actor"].choices = [("", "Anyone"), *audit_actor_choices()]
        self.fields["account"].choices = [
            ("", "Any account"),
            *ConnectedAccount.objects.order_by("name").values_list("pk", "name"),
        ]
        self.fields["action"].choices = [("", "Any action"), *audit_action_choices()]

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", "must be on or after the start date")
        return cleaned

    def filters(self) -> AuditFilters:
        """The valid filters; an invalid form filters nothing (its errors are shown)."""
        if not self.is_valid():
            return AuditFilters()
        data = self.cleaned_data
        return AuditFilters(
            actor=data["actor"] or "",
            account=data["account"],
            action=data["action"] or "",
            since=data["since"],
            until=data["until"],
        )

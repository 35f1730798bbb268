"""Forms of the error pages."""

from __future__ import annotations

from django import forms

from dashboard.calls.groups import STATE_ACTIONS


class GroupStateForm(forms.Form):
    action = forms.ChoiceField(choices=[(a, a) for a in STATE_ACTIONS])
    note = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why (kept with the group's history).",
    )

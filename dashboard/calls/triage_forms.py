"""Forms of error triage (issue #20): assign, snooze, bulk changes from the list."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.utils import timezone

from dashboard.calls.triage import (
    BULK_ACTIONS,
    BULK_LIMIT,
    MAX_SNOOZE_OCCURRENCES,
    assignable_users,
)
from dashboard.core.params import parse_id

SNOOZE_HOURS = [("", "—"), (1, "1 hour"), (8, "8 hours"), (24, "24 hours"), (168, "1 week")]


class AssigneeField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.get_username()


def _assignee_field() -> AssigneeField:
    # Empty means "nobody": unassigning is the same form.
    return AssigneeField(queryset=assignable_users(), required=False, empty_label="Nobody")


class AssignForm(forms.Form):
    assignee = forms.Field(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"] = _assignee_field()


class SnoozeForm(forms.Form):
    hours = forms.TypedChoiceField(
        choices=SNOOZE_HOURS, coerce=int, empty_value=None, required=False, label="For"
    )
    until = forms.DateTimeField(
        required=False,
        label="Or until",
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    occurrences = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_SNOOZE_OCCURRENCES,
        label="Or until this many more occurrences",
    )
    note = forms.CharField(required=False, max_length=500)

    def clean(self):
        data = super().clean()
        chosen = [k for k in ("hours", "until", "occurrences") if data.get(k) is not None]
        if len(chosen) != 1:
            raise forms.ValidationError(
                "Choose one: a duration, a time, or a number of occurrences."
            )
        if data.get("hours") is not None:
            data["until"] = timezone.now() + timedelta(hours=data["hours"])
        return data


class BulkForm(forms.Form):
    action = forms.ChoiceField(choices=[(a, a) for a in BULK_ACTIONS])
    assignee = forms.Field(required=False)
    # The list's query string, so the redirect lands on the same filtered list.
    query = forms.CharField(required=False, max_length=2000)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"] = _assignee_field()

    def clean(self):
        data = super().clean()
        # The checkboxes: several values of one name, ids only.
        raw = self.data.getlist("group") if hasattr(self.data, "getlist") else []
        ids = sorted({parse_id(value) for value in raw} - {None})
        if not ids:
            raise forms.ValidationError("Tick at least one group.")
        if len(ids) > BULK_LIMIT:
            raise forms.ValidationError(f"At most {BULK_LIMIT} groups at once.")
        data["groups"] = ids
        return data

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django import forms

from dashboard.accounts.models import ConnectedAccount
from dashboard.profiles.models import ExportKind
from dashboard.profiles.query import UnrecognisedQuery, recognise
from integrations.octy.payloads import CHURN_LABELS


class LookupForm(forms.Form):
    q = forms.CharField(
        label="Customer",
        max_length=300,
        help_text="An email, a phone (+…), an Octy profile or customer id, an Altcraft "
        "profile id (24 hex) or a Croct user id.",
    )

    def clean_q(self):
        try:
            return recognise(self.cleaned_data["q"])
        except UnrecognisedQuery as exc:
            raise forms.ValidationError(str(exc)) from None


class BrowseFilterForm(forms.Form):
    """Octy listing filters (providers/octy.md: endpoints)."""

    rfm = forms.RegexField(
        regex=r"^\d+-\d+$", required=False, label="RFM range", help_text="e.g. 300-555"
    )
    churn_prob = forms.ChoiceField(
        required=False,
        label="Churn probability",
        choices=[("", "any")] + [(c, c) for c in CHURN_LABELS],
    )
    segments = forms.CharField(
        required=False, label="Segments", help_text="Comma-separated segment ids or names"
    )

    def filters(self) -> dict:
        data = self.cleaned_data
        segments = [s.strip() for s in (data.get("segments") or "").split(",") if s.strip()]
        return {
            k: v
            for k, v in {
                "rfm": data.get("rfm") or None,
                "churn_prob": data.get("churn_prob") or None,
                "segments": segments,
            }.items()
            if v
        }


class CacheSearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Name or email starts with")
    account = forms.ModelChoiceField(
        queryset=ConnectedAccount.objects.filter(provider__in=("octy", "altcraft", "croct")),
        required=False,
        empty_label="all accounts",
    )


class AttributeForm(forms.Form):
    name = forms.CharField(max_length=100, label="Attribute")
    value = forms.CharField(
        max_length=1000,
        label="Value",
        help_text="Numbers, true/false and JSON lists are sent as such; anything else as text.",
    )


def _default_start():
    return (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0, tzinfo=None)


def _default_end():
    return datetime.now(UTC).replace(microsecond=0, tzinfo=None)


class ExportForm(forms.Form):
    account = forms.ModelChoiceField(queryset=ConnectedAccount.objects.filter(provider="croct"))
    kind = forms.ChoiceField(choices=ExportKind.choices)
    event_types = forms.CharField(
        required=False, help_text="Events only: comma-separated types, e.g. pageOpened,orderPlaced"
    )
    start = forms.DateTimeField(
        required=False, initial=_default_start, help_text="UTC, YYYY-MM-DD HH:MM"
    )
    end = forms.DateTimeField(initial=_default_end, help_text="UTC; exclusive")
    incremental = forms.BooleanField(
        required=False, help_text="Start where the last finished export of this kind ended."
    )

    @staticmethod
    def to_ms(value: datetime | None) -> int | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return int(value.timestamp() * 1000)

    def event_type_list(self) -> list[str]:
        raw = self.cleaned_data.get("event_types") or ""
        return [t.strip() for t in raw.split(",") if t.strip()]

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django import forms

from dashboard.accounts.models import ConnectedAccount
from dashboard.profiles.models import ExportKind
from dashboard.profiles.query import UnrecognisedQuery, profile_providers, recognise, search_hint
from integrations.provider import Capability, Field


def _accounts_that(capability: Capability):
    keys = [p.key for p in profile_providers(capability)]
    return ConnectedAccount.objects.filter(provider__in=keys)


class LookupForm(forms.Form):
    q = forms.CharField(label="Customer", max_length=300)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["q"].help_text = search_hint()

    def clean_q(self):
        try:
            return recognise(self.cleaned_data["q"])
        except UnrecognisedQuery as exc:
            raise forms.ValidationError(str(exc)) from None


def _filter_field(declared: Field) -> forms.Field:
    """A form field for one listing filter a provider's adapter declares."""

    def check(value):
        if value and declared.clean is not None:
            try:
                declared.clean(value)
            except ValueError as exc:
                raise forms.ValidationError(str(exc)) from None

    common = {"required": False, "label": declared.label, "help_text": declared.help_text}
    if declared.choices:
        choices = [("", "any")] + [(c, c) for c in declared.choices]
        return forms.ChoiceField(choices=choices, **common)
    return forms.CharField(validators=[check], **common)


class BrowseFilterForm(forms.Form):
    """The listing filters the account's provider offers (none for most)."""

    def __init__(self, data=None, *, filter_fields: tuple[Field, ...] = ()):
        super().__init__(data)
        for declared in filter_fields:
            self.fields[declared.name] = _filter_field(declared)

    def filters(self) -> dict:
        """The filters given, as typed (the provider's adapter cleans and checks them)."""
        return {name: value for name, value in self.cleaned_data.items() if value}


class CacheSearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Name or email starts with")
    account = forms.ModelChoiceField(
        queryset=ConnectedAccount.objects.none(),
        required=False,
        empty_label="all accounts",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Asked of the registry per form, so a provider registered later is offered.
        self.fields["account"].queryset = _accounts_that(Capability.PROFILE_LOOKUP)


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
    account = forms.ModelChoiceField(queryset=ConnectedAccount.objects.none())
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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = _accounts_that(Capability.EXPORT)

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

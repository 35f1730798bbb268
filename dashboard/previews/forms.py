"""Forms for previews, personas, grids and the CQL playground.

Each form reads its fields into the shapes the services take; the Croct limits are the
services' (and ``visitors``') to check, and their messages come back onto the fields
through :func:`add_input_errors`.
"""

from __future__ import annotations

from django import forms
from django.urls import reverse_lazy

from dashboard.core.params import parse_id

from . import selectors, visitors
from .models import PERSONA_IDENTITIES, IdentityMode
from .services import Visitor, VisitorInputError, expiry_day_choices, visitor_for
from .services.checks import check_preview_token, check_slot_id
from .services.personas import persona_check

# Service error keys that are not form fields of the same name.
FIELD_ALIASES = {"campaign": "campaign_source", "personas": "personas", "baseline": None}


def add_input_errors(form: forms.Form, error: VisitorInputError) -> None:
    for key, message in error.errors.items():
        name = FIELD_ALIASES.get(key, key)
        form.add_error(name if name in form.fields else None, message)


def slot_picker(field: forms.Field) -> None:
    """Make a slot id field search the account's catalog as the user types (htmx asks
    ``catalog_search`` with the form's account; the list shows under the field, and on
    focus it lists the first slots). Without JavaScript the field is plain text and the
    catalog page links each slot to the preview form."""
    field.widget.attrs.pop("list", None)
    field.widget.attrs.update(
        {
            "autocomplete": "off",
            "hx-get": reverse_lazy("previews:catalog_search"),
            "hx-trigger": "input changed delay:150ms, focus once",
            "hx-target": "next .slot-suggestions",
            "hx-swap": "outerHTML",
            # Both forms' account field; the search is per account.
            "hx-include": "#id_account",
            "hx-sync": "this:replace",
        }
    )


def _text(label: str, help_text: str = "", **attrs) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        help_text=help_text,
        widget=forms.TextInput(attrs=attrs) if attrs else None,
    )


class VisitorFields(forms.Form):
    """The ad-hoc visitor: context parts and identity."""

    @property
    def adhoc_in_use(self) -> bool:
        """Whether the submitted form carries ad-hoc values: the section stays open after
        a run so what was sent stays in sight (#16 defect 10)."""
        if not self.is_bound:
            return False
        names = [n for n in VisitorFields.base_fields if n != "identity_mode"]
        typed = any(str(self.data.get(n, "")).strip() for n in names)
        identity = self.data.get("identity_mode", IdentityMode.RANDOM)
        return typed or identity not in ("", IdentityMode.RANDOM)

    time_zone = _text("Time zone", "An IANA name such as America/Sao_Paulo.", list="time-zones")
    page_url = _text("Page URL", placeholder="https://example.com/pricing")
    page_title = _text("Page title")
    page_referrer = _text("Referrer")
    utm_url = _text(
        "Campaign from a URL",
        "Paste a landing-page URL: its utm_* parameters fill the campaign fields left empty.",
        placeholder="https://example.com/?utm_source=newsletter&utm_medium=email",
    )
    campaign_name = _text("Campaign name")
    campaign_source = _text("Source")
    campaign_medium = _text("Medium")
    campaign_content = _text("Content")
    campaign_term = _text("Term")
    attributes = forms.CharField(
        label="Custom attributes",
        required=False,
        widget=forms.Textarea(attrs={"rows": 5, "placeholder": "plan=pro\ncompany.size=50"}),
        help_text="One KEY=VALUE per line; dotted keys nest (company.size=50), values "
        'true/false/null/numbers are typed, "quoted" stays text. Or a JSON object. '
        "At most 30 entries per map, 5 levels, keys and texts of at most 50 characters.",
    )
    identity_mode = forms.ChoiceField(
        label="Identity", choices=IdentityMode.choices, initial=IdentityMode.RANDOM
    )
    identity_value = _text(
        "Client id or user id",
        "A fixed client id: a UUID, with or without dashes (the same id keeps the same "
        "experiment variant). Or the user id.",
    )
    client_ip = _text(
        "Visitor IP address",
        "IPv4 or IPv6, e.g. 177.71.128.1 for a visitor from Brazil. Empty: Croct takes the "
        "console server's address as the visitor's.",
        placeholder="177.71.128.1",
    )
    client_agent = _text(
        "Visitor user agent",
        "One line, at most 255 characters, e.g. an iPhone's Safari. Empty: Croct takes the "
        "console server's agent (python-requests) as the visitor's.",
        placeholder="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) …",
    )

    campaign_field_names = [f"campaign_{f}" for f in visitors.CAMPAIGN_FIELDS]

    def context_fields(self):
        return [self[n] for n in ("time_zone", "page_url", "page_title", "page_referrer")]

    def campaign_fields(self):
        return [self["utm_url"], *(self[n] for n in self.campaign_field_names)]

    def identity_fields(self):
        return [self[n] for n in ("identity_mode", "identity_value") if n in self.fields]

    def device_fields(self):
        return [self["client_ip"], self["client_agent"]]

    def ad_hoc_visitor(self) -> Visitor:
        """The visitor from the persona picked (if any) and the fields typed; raises
        VisitorInputError with every field's error."""
        data = self.cleaned_data
        errors: dict[str, str] = {}
        context: dict = {}
        try:
            context = self.ad_hoc_context()
        except VisitorInputError as exc:
            errors.update(exc.errors)
        try:
            visitor = visitor_for(
                persona=data.get("persona"),
                context=context,
                identity_mode=data.get("identity_mode") or None,
                identity_value=data.get("identity_value", ""),
                client_ip=data.get("client_ip", ""),
                client_agent=data.get("client_agent", ""),
            )
        except VisitorInputError as exc:
            errors.update(exc.errors)
        if errors:
            raise VisitorInputError(errors)
        return visitor

    def ad_hoc_context(self) -> dict:
        """The context parts typed in; raises VisitorInputError."""
        data = self.cleaned_data
        campaign = {f: data.get(f"campaign_{f}", "") for f in visitors.CAMPAIGN_FIELDS}
        for name, value in visitors.campaign_from_url(data.get("utm_url", "")).items():
            if not campaign.get(name):
                campaign[name] = value
        return visitors.build_context(
            time_zone=data.get("time_zone", ""),
            page={f: data.get(f"page_{f}", "") for f in visitors.PAGE_FIELDS},
            campaign=campaign,
            attributes=visitors.attributes_from_text(data.get("attributes", "")),
        )


class PreviewForm(VisitorFields):
    account = forms.ModelChoiceField(queryset=selectors.preview_accounts(), empty_label=None)
    slot_id = forms.CharField(
        label="Slot id", max_length=120, widget=forms.TextInput(attrs={"list": "slot-ids"})
    )
    version = _text("Version", "1 or 1.2; empty for the latest.", placeholder="latest")
    locale = _text(
        "Preferred locale",
        "en, pt-BR, pt_br…, or “default” for the slot's default.",
        placeholder="en-us",
    )
    include_schema = forms.BooleanField(label="Include the slot schema", required=False)
    preview_token = forms.CharField(
        label="Preview token",
        required=False,
        help_text="Optional: forces the previewed variant. Stored encrypted, never shown again.",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    persona = forms.ModelChoiceField(
        queryset=selectors.personas(), required=False, empty_label="Ad-hoc visitor"
    )
    identity_mode = forms.ChoiceField(
        label="Identity",
        required=False,
        choices=[("", "The persona's (a new visitor without one)"), *IdentityMode.choices],
    )

    field_order = ["account", "slot_id", "version", "locale", "include_schema", "preview_token"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        slot_picker(self.fields["slot_id"])

    # The service's own checks, run here too so their errors show with every other one.
    def clean_slot_id(self):
        return self._checked("slot_id", check_slot_id)

    def clean_preview_token(self):
        return self._checked("preview_token", check_preview_token)

    def clean_version(self):
        return self._checked("version", visitors.check_version)

    def clean_locale(self):
        return self._checked("locale", visitors.check_locale)

    def _checked(self, name, check):
        try:
            return check(self.cleaned_data.get(name, ""))
        except VisitorInputError as exc:
            raise forms.ValidationError(exc.errors[name]) from None

    def clean(self):
        # The visitor is checked even when other fields failed: every error shows at once.
        data = super().clean()
        try:
            self.visitor: Visitor = self.ad_hoc_visitor()
        except VisitorInputError as exc:
            add_input_errors(self, exc)
        return data


class PersonaForm(VisitorFields):
    name = forms.CharField(max_length=80)
    description = forms.CharField(max_length=200, required=False)
    identity_mode = forms.ChoiceField(
        label="Identity", choices=PERSONA_IDENTITIES, initial=IdentityMode.CLIENT_ID
    )
    identity_value = _text("User id", "For a signed-in user: the user id.")
    client_id = _text(
        "Client id",
        "This persona's X-Client-Id, sent on every preview, grid cell and re-run so Croct "
        "keeps it in the same experiment variant. A UUID, with or without dashes; drawn "
        "when the persona is created (empty: a fresh one).",
        **{"class": "mono"},
    )

    field_order = ["name", "description"]

    def __init__(self, *args, persona=None, **kwargs):
        self.persona = persona
        super().__init__(*args, **kwargs)
        if persona is None and not self.is_bound:
            self.initial.setdefault("client_id", visitors.new_client_id())

    def identity_fields(self):
        return [self["identity_mode"], self["identity_value"], self["client_id"]]

    def clean(self):
        # Every part is checked even when another failed: all errors show at once.
        data = super().clean()
        errors: dict[str, str] = {}
        try:
            self.context = self.ad_hoc_context()
        except VisitorInputError as exc:
            errors.update(exc.errors)
        try:
            persona_check(
                name=data.get("name", ""),
                persona=self.persona,
                identity_mode=data.get("identity_mode", ""),
                identity_value=data.get("identity_value", ""),
                client_id=data.get("client_id", ""),
                client_ip=data.get("client_ip", ""),
                client_agent=data.get("client_agent", ""),
            )
        except VisitorInputError as exc:
            errors.update(exc.errors)
        for name in self.errors:
            errors.pop(name, None)  # a field's own error (too long, required) is enough
        if errors:
            add_input_errors(self, VisitorInputError(errors))
        return data

    @staticmethod
    def initial_for(persona) -> dict:
        context = persona.context or {}
        page = context.get("page") or {}
        campaign = context.get("campaign") or {}
        initial = {
            "name": persona.name,
            "description": persona.description,
            "time_zone": context.get("timeZone", ""),
            "attributes": visitors.attributes_as_text(context.get("attributes") or {}),
            "identity_mode": persona.identity_mode,
            "identity_value": persona.identity_value,
            "client_id": persona.client_id,
            "client_ip": persona.client_ip,
            "client_agent": persona.client_agent,
        }
        initial.update({f"page_{k}": v for k, v in page.items()})
        initial.update({f"campaign_{k}": v for k, v in campaign.items()})
        return initial


class PersonaChoiceField(forms.ModelMultipleChoiceField):
    """Refuses ids no row can have ("9223372036854775808", "-9223372036854775809")
    instead of letting the database overflow on them."""

    def _check_values(self, value):
        for pk in value:
            text = str(pk).strip()
            # Signed too: the database would convert "-922…" just the same and overflow.
            if text.lstrip("+-").isdigit() and parse_id(text.lstrip("+")) is None:
                raise forms.ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": pk},
                )
        return super()._check_values(value)


class GridForm(forms.Form):
    account = forms.ModelChoiceField(queryset=selectors.preview_accounts(), empty_label=None)
    slot_id = forms.CharField(
        label="Slot id", max_length=120, widget=forms.TextInput(attrs={"list": "slot-ids"})
    )
    version = _text("Version", "1 or 1.2; empty for the latest.", placeholder="latest")
    include_schema = forms.BooleanField(label="Include the slot schema", required=False)
    personas = PersonaChoiceField(
        queryset=selectors.personas(), widget=forms.CheckboxSelectMultiple
    )
    locales = forms.CharField(
        label="Locales",
        help_text="Comma-separated, e.g. en, pt-br, es (or “default”). At most 6.",
        widget=forms.TextInput(attrs={"placeholder": "en, pt-br"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        slot_picker(self.fields["slot_id"])

    def locale_list(self) -> list[str]:
        raw = self.cleaned_data.get("locales", "")
        return [part.strip() for part in raw.replace(";", ",").split(",") if part.strip()]


class CqlForm(VisitorFields):
    account = forms.ModelChoiceField(queryset=selectors.evaluate_accounts(), empty_label=None)
    query = forms.CharField(
        label="CQL query",
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "class": "mono"}),
        help_text="At most 500 characters, e.g. context's plan is 'pro'.",
    )
    persona = forms.ModelChoiceField(
        queryset=selectors.personas(), required=False, empty_label="Ad-hoc visitor"
    )
    identity_mode = forms.ChoiceField(
        label="Identity",
        required=False,
        choices=[("", "The persona's (a new visitor without one)"), *IdentityMode.choices],
    )

    field_order = ["account", "query", "persona"]

    def clean(self):
        data = super().clean()
        try:
            self.visitor = self.ad_hoc_visitor()
        except VisitorInputError as exc:
            add_input_errors(self, exc)
        return data


class PublicLinkForm(forms.Form):
    """How long a new public link works (1, 7 or 30 days, within the setting's cap)."""

    days = forms.TypedChoiceField(
        coerce=int,
        label="Works for",
        choices=(),
        widget=forms.Select(attrs={"id": "public-days", "data-testid": "public-days"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        choices = expiry_day_choices()
        self.fields["days"].choices = [
            (days, "1 day" if days == 1 else f"{days} days") for days in choices
        ]
        self.fields["days"].initial = 7 if 7 in choices else choices[-1]
        pick = "Pick how long the link works from the list."
        self.fields["days"].error_messages.update(invalid_choice=pick, required=pick)


class CatalogSlotForm(forms.Form):
    """A staff entry of the slot catalog; the service checks it (catalog_slot_check)."""

    account = forms.ModelChoiceField(queryset=selectors.preview_accounts(), empty_label=None)
    slot_id = forms.CharField(label="Slot id", max_length=120)
    description = forms.CharField(
        label="Description", required=False, max_length=200, help_text="What the slot is for."
    )
    versions = _text("Known versions", "Comma-separated, e.g. 1.0, 2.0.", placeholder="1.0, 2.0")
    locales = _text("Locales", "Comma-separated, e.g. en, pt-br.", placeholder="en, pt-br")


class LabelForm(forms.Form):
    """Name one id; the service checks it (label_check)."""

    account = forms.CharField(widget=forms.HiddenInput, max_length=20)
    kind = forms.CharField(widget=forms.HiddenInput, max_length=12)
    target_id = forms.CharField(widget=forms.HiddenInput, max_length=200)
    name = forms.CharField(label="Name", max_length=200, required=False)

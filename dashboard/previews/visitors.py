"""A visitor for Croct: the ``context`` object and the identity headers, from user input.

The form, the persona editor and the ``preview_slot`` command all come through here, so
the same input gives the same context and the same messages everywhere. The limits are
Croct's (``integrations.croct.payloads``); messages name the offending key by its path
(``attributes.plan.tier``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from dashboard.core.nesting import depth_refusal, nesting_refusal
from integrations.croct.client import ContentContext, PayloadError
from integrations.croct.payloads import (
    validate_client_id,
    validate_client_ip,
    validate_locale,
    validate_version,
)

from .models import MAX_CLIENT_AGENT_LENGTH, IdentityMode
from .models import new_client_id as new_client_id  # the callers of visitors use it

CAMPAIGN_FIELDS = ("name", "source", "medium", "content", "term")
PAGE_FIELDS = ("url", "title", "referrer")
# utm_campaign -> name and so on (providers/croct.md: campaign is UTM-compatible).
UTM_FIELDS = {f"utm_{'campaign' if f == 'name' else f}": f for f in CAMPAIGN_FIELDS}
DEFAULT_LOCALE_WORD = "default"
MAX_USER_ID_LENGTH = 120


class VisitorInputError(ValueError):
    """Input that cannot become a Croct request; ``errors`` maps field names to messages.

    Field names: ``slot_id``, ``version``, ``locale``, ``time_zone``, ``page_url``,
    ``campaign``, ``attributes``, ``identity_value``, ``client_id``, ``client_ip``,
    ``client_agent``, ``preview_token``, ``query``, ``account``, ``name``.
    """

    def __init__(self, errors: Mapping[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = dict(errors)


# --- attributes -----------------------------------------------------------------------
def scalar(text: str) -> Any:
    """``true``/``false``/``null``/numbers/``"quoted"`` as JSON; anything else a string."""
    text = text.strip()
    if text[:1] in ("[", "{"):
        # Never a scalar; not decoding it also means no depth to run out of.
        return text
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if value is None or isinstance(value, bool | int | float | str) else text


def attributes_from_pairs(pairs: Iterable[str]) -> dict[str, Any]:
    """``["plan=pro", "company.size=50"]`` -> ``{"plan": "pro", "company": {"size": 50}}``.

    A dotted key nests maps. Raises VisitorInputError naming the pair's key.
    """
    attributes: dict[str, Any] = {}
    for raw in pairs:
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key:
            raise VisitorInputError({"attributes": f"{line[:60]!r} is not KEY=VALUE"})
        parts = key.split(".")
        if any(not p for p in parts):
            raise VisitorInputError({"attributes": f"attributes.{key}: keys must be non-empty"})
        # Each dot is a level: a 5,000-part key would be a map 5,000 deep.
        too_deep = depth_refusal(len(parts), subject="The attributes are")
        if too_deep:
            raise VisitorInputError({"attributes": too_deep})
        target = attributes
        for depth, part in enumerate(parts[:-1]):
            existing = target.setdefault(part, {})
            if not isinstance(existing, dict):
                path = ".".join(parts[: depth + 1])
                raise VisitorInputError(
                    {"attributes": f"attributes.{path}: is a value and a map at once"}
                )
            target = existing
        target[parts[-1]] = scalar(value)
    return attributes


def attributes_from_text(text: str) -> dict[str, Any]:
    """A JSON object, or one ``KEY=VALUE`` per line (dotted keys nest)."""
    text = (text or "").strip()
    if not text:
        return {}
    # Measured before anything decodes it: JSON this deep is a RecursionError (#15).
    too_deep = nesting_refusal(text, subject="The attributes are")
    if too_deep:
        raise VisitorInputError({"attributes": too_deep})
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise VisitorInputError({"attributes": f"not valid JSON: {exc}"}) from None
        if not isinstance(value, dict):
            raise VisitorInputError({"attributes": "must be a JSON object"})
        return value
    return attributes_from_pairs(text.splitlines())


def attributes_as_text(attributes: Mapping[str, Any]) -> str:
    """Text that attributes_from_text reads back to ``attributes``: KEY=VALUE lines when
    every leaf is a scalar under a plain key, else indented JSON."""
    lines: list[str] = []

    def walk(mapping: Mapping[str, Any], prefix: str) -> bool:
        for key, value in mapping.items():
            if not isinstance(key, str) or not key or any(c in key for c in ".=#\n"):
                return False
            if isinstance(value, Mapping):
                if not value or not walk(value, f"{prefix}{key}."):
                    return False
            elif isinstance(value, list):
                return False
            elif isinstance(value, str) and (scalar(value) != value or value != value.strip()):
                lines.append(f"{prefix}{key}={json.dumps(value)}")
            else:
                shown = value if isinstance(value, str) else json.dumps(value)
                lines.append(f"{prefix}{key}={shown}")
        return True

    if not attributes:
        return ""
    if walk(attributes, ""):
        return "\n".join(lines)
    return json.dumps(dict(attributes), indent=2)


# --- campaign ---------------------------------------------------------------------------
def campaign_from_url(url: str) -> dict[str, str]:
    """The UTM parameters of ``url`` as campaign fields (``utm_source`` -> ``source``)."""
    query = parse_qs(urlsplit((url or "").strip()).query)
    return {field: query[utm][0] for utm, field in UTM_FIELDS.items() if query.get(utm)}


# --- the context ---------------------------------------------------------------------------
def _field_for(path: str) -> str:
    if path.startswith("context.timeZone"):
        return "time_zone"
    if path.startswith("context.page"):
        return "page_url"
    if path.startswith("context.campaign"):
        return "campaign"
    return "attributes"


def build_context(
    *,
    time_zone: str = "",
    page: Mapping[str, str] | None = None,
    campaign: Mapping[str, str] | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The Croct ``context`` object (only the parts given), checked against the limits.

    Raises VisitorInputError; an attribute error names the key (``attributes.a.b``) and
    the limit.
    """
    page = {k: v.strip() for k, v in (page or {}).items() if v and v.strip()}
    campaign = {k: v.strip() for k, v in (campaign or {}).items() if v and v.strip()}
    errors: dict[str, str] = {}
    if page and not page.get("url"):
        errors["page_url"] = "is required when a page title or referrer is given"
    parts = {
        "time_zone": (time_zone or "").strip() or None,
        "page": page or None,
        "campaign": campaign or None,
        "attributes": attributes if attributes else None,
    }
    # Each part is checked on its own: the client stops at the first bad one, and a
    # person fixing the time zone should not learn about the attributes next round
    # (#16 defect 3).
    for name, value in parts.items():
        if value is None or (name == "page" and "page_url" in errors):
            continue
        try:
            ContentContext(**{name: value}).to_json()
        except PayloadError as exc:
            errors.setdefault(_field_for(exc.path), str(exc))
    if errors:
        raise VisitorInputError(errors)
    return ContentContext(**parts).to_json()


def check_context(context: Mapping[str, Any]) -> dict[str, Any]:
    """A stored context (persona or snapshot) re-checked; raises VisitorInputError."""
    return build_context(
        time_zone=context.get("timeZone") or "",
        page=context.get("page"),
        campaign=context.get("campaign"),
        attributes=context.get("attributes"),
    )


def merge_context(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A persona's context with the ad-hoc parts laid over it (maps merge, the rest
    replaces)."""
    merged = dict(base)
    for key, value in overrides.items():
        if key in ("campaign", "attributes") and isinstance(merged.get(key), Mapping):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def to_content_context(context: Mapping[str, Any]) -> ContentContext | None:
    if not context:
        return None
    return ContentContext(
        time_zone=context.get("timeZone"),
        page=context.get("page"),
        campaign=context.get("campaign"),
        attributes=context.get("attributes"),
    )


# --- identity, version, locale ------------------------------------------------------------
def check_identity(mode: str, value: str) -> str:
    """The identity value to store for ``mode``; raises VisitorInputError."""
    value = (value or "").strip()
    if mode == IdentityMode.RANDOM:
        return ""
    if mode == IdentityMode.CLIENT_ID:
        return check_client_id(value, field="identity_value")
    if mode == IdentityMode.USER_ID:
        if not value:
            raise VisitorInputError({"identity_value": "enter the user id to preview as"})
        if len(value) > MAX_USER_ID_LENGTH:
            raise VisitorInputError({"identity_value": f"at most {MAX_USER_ID_LENGTH} characters"})
        return value
    raise VisitorInputError({"identity_value": f"unknown identity mode {mode!r}"})


def check_client_id(value: str, *, field: str = "client_id") -> str:
    """Any UUID, dashed or the 32 hex digits Croct's tooling writes, kept as typed."""
    value = (value or "").strip()
    if not value:
        raise VisitorInputError({field: "enter a client id: a UUID, with or without dashes"})
    try:
        return validate_client_id(value)
    except PayloadError as exc:
        raise VisitorInputError(
            {field: f"{exc.reason}; a client id is a UUID, with or without dashes"}
        ) from None


def check_device(client_ip: str, client_agent: str) -> tuple[str, str]:
    """The visitor's IP address (normalised) and user agent, "" when not given.

    Raises VisitorInputError naming ``client_ip`` and/or ``client_agent`` (both at once).
    """
    errors: dict[str, str] = {}
    ip = (client_ip or "").strip()
    agent = (client_agent or "").strip()
    if ip:
        try:
            ip = validate_client_ip(ip)
        except PayloadError:
            errors["client_ip"] = f"{ip[:60]!r} is not an IP address (IPv4 or IPv6)"
    if agent and (len(agent) > MAX_CLIENT_AGENT_LENGTH or not agent.isprintable()):
        errors["client_agent"] = (
            f"a user agent is one printable line of at most {MAX_CLIENT_AGENT_LENGTH} characters"
        )
    if errors:
        raise VisitorInputError(errors)
    return ip, agent


def check_version(value: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    try:
        return validate_version(value)
    except PayloadError as exc:
        raise VisitorInputError({"version": exc.reason}) from None


def check_locale(value: str) -> str:
    """ "" (leave it out), "default" (ask for the slot's default) or a locale as typed."""
    value = (value or "").strip()
    if not value:
        return ""
    if value.lower() == DEFAULT_LOCALE_WORD:
        return DEFAULT_LOCALE_WORD
    try:
        return validate_locale(value)
    except PayloadError as exc:
        raise VisitorInputError({"locale": f"{exc.reason}, or “default”"}) from None

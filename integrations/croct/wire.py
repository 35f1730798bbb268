"""Request bodies as the Croct API checks them on arrival.

The sandbox answers with these; the client never needs them, as it builds bodies
from typed requests that were checked field by field (``payloads``). The limits
themselves live in ``payloads`` so both sides apply the same numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from integrations.croct.payloads import (
    LOCALE_RE,
    UUID_RE,
    VERSION_RE,
    PayloadError,
    Violation,
    attribute_violations,
    is_time_zone,
    track_payload_violations,
    validate_query,
)

_PAGE_FIELDS = ("url", "title", "referrer")
_CAMPAIGN_FIELDS = ("name", "source", "medium", "content", "term")


def context_violations(context: Any, path: str = "context") -> list[Violation]:
    if not isinstance(context, Mapping):
        return [Violation(path, "must be an object")]
    found: list[Violation] = _unknown_keys(
        context, ("timeZone", "page", "campaign", "attributes"), path
    )
    if "timeZone" in context and not is_time_zone(context["timeZone"]):
        found.append(
            Violation(f"{path}.timeZone", f"{context['timeZone']!r} is not an IANA time zone")
        )
    if "page" in context:
        page = context["page"]
        if not isinstance(page, Mapping):
            found.append(Violation(f"{path}.page", "must be an object"))
        else:
            found += _unknown_keys(page, _PAGE_FIELDS, f"{path}.page")
            if not isinstance(page.get("url"), str) or not page.get("url"):
                found.append(Violation(f"{path}.page.url", "is required"))
            found += _string_fields(page, ("title", "referrer"), f"{path}.page")
    if "campaign" in context:
        campaign = context["campaign"]
        if not isinstance(campaign, Mapping):
            found.append(Violation(f"{path}.campaign", "must be an object"))
        else:
            found += _unknown_keys(campaign, _CAMPAIGN_FIELDS, f"{path}.campaign")
            found += _string_fields(campaign, _CAMPAIGN_FIELDS, f"{path}.campaign")
    if "attributes" in context:
        found += attribute_violations(context["attributes"], f"{path}.attributes")
    return found


def content_body_violations(body: Any, *, static: bool = False) -> list[Violation]:
    """providers/croct.md: fetch content (static: slotId, version, preferredLocale,
    includeSchema only)."""
    if not isinstance(body, Mapping):
        return [Violation("body", "must be a JSON object")]
    allowed = ("slotId", "version", "preferredLocale", "includeSchema")
    if not static:
        allowed += ("previewToken", "context")
    found = _unknown_keys(body, allowed, "")
    slot_id = body.get("slotId")
    if not isinstance(slot_id, str) or not slot_id.strip():
        found.append(Violation("slotId", "is required"))
    if "version" in body and not (
        isinstance(body["version"], str) and VERSION_RE.match(body["version"])
    ):
        found.append(Violation("version", "must be a version like 1 or 1.2"))
    locale = body.get("preferredLocale")
    if locale is not None and not (isinstance(locale, str) and LOCALE_RE.match(locale)):
        found.append(Violation("preferredLocale", "must be a locale like en-us, or null"))
    if "previewToken" in body and not isinstance(body["previewToken"], str):
        found.append(Violation("previewToken", "must be a string"))
    if "includeSchema" in body and not isinstance(body["includeSchema"], bool):
        found.append(Violation("includeSchema", "must be a boolean"))
    if "context" in body:
        found += context_violations(body["context"])
    return found


def evaluate_body_violations(body: Any) -> list[Violation]:
    if not isinstance(body, Mapping):
        return [Violation("body", "must be a JSON object")]
    found = _unknown_keys(body, ("query", "context"), "")
    try:
        validate_query(body.get("query"))  # type: ignore[arg-type]
    except PayloadError as exc:
        found.append(Violation(exc.path, exc.reason))
    if "context" in body:
        found += context_violations(body["context"])
    return found


def _unknown_keys(mapping: Mapping, allowed: tuple[str, ...], path: str) -> list[Violation]:
    prefix = f"{path}." if path else ""
    return [
        Violation(f"{prefix}{key}", "is not a known field") for key in mapping if key not in allowed
    ]


def _string_fields(mapping: Mapping, names: tuple[str, ...], path: str) -> list[Violation]:
    return [
        Violation(f"{path}.{name}", "must be a string")
        for name in names
        if name in mapping and not isinstance(mapping[name], str)
    ]


def track_body_violations(body: Any) -> list[Violation]:
    """The whole ``/client/web/track`` body, as the sandbox checks it."""
    if not isinstance(body, Mapping):
        return [Violation("body", "must be a JSON object")]
    found: list[Violation] = []
    for name in ("originalTime", "departureTime"):
        value = body.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            found.append(Violation(name, "must be a timestamp in milliseconds"))
    context = body.get("context")
    if not isinstance(context, Mapping):
        found.append(Violation("context", "must be an object"))
    else:
        if not (isinstance(context.get("tabId"), str) and UUID_RE.match(context["tabId"])):
            found.append(Violation("context.tabId", "must be a UUID"))
        if not isinstance(context.get("url"), str) or not context.get("url"):
            found.append(Violation("context.url", "is required"))
        if "timeZone" in context and not is_time_zone(context["timeZone"]):
            found.append(Violation("context.timeZone", "is not an IANA time zone"))
        metadata = context.get("metadata")
        if metadata is not None and not (
            isinstance(metadata, Mapping) and all(isinstance(v, str) for v in metadata.values())
        ):
            found.append(Violation("context.metadata", "must map names to strings"))
    return found + track_payload_violations(body.get("payload"))

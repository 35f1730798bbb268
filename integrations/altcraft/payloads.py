"""Request bodies for Altcraft's profile methods, validated before anything is sent.

Every builder returns a plain dict in a fixed key order (the order of the doc's
example: ``db_id``, ``resource_id``, ``matching``, identifier, ``data``, options), so
the same logical request always encodes to the same bytes — Altcraft's
deduplication depends on it (providers/altcraft.md: request deduplication). The
token is added by the client, never here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from integrations import errors
from integrations.altcraft.xmlcodec import SYSTEM_FIELD_NAMES

# providers/altcraft.md: profile methods — `matching` values. The note ends the list
# with "…"; these are the ones the console offers.
MATCHINGS = ("email", "phone", "profile_id", "custom", "email_phone")
SYSTEM_FIELDS = frozenset(f"_{name}" for name in SYSTEM_FIELD_NAMES)
# [guess] The note states no limits; these keep a request to a sane size and are
# enforced the same way by the sandbox.
MAX_LIST_LIMIT = 1000
MAX_BATCH = 1000

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
PHONE_RE = re.compile(r"^\+[0-9]{6,15}$")
PROFILE_ID_RE = re.compile(r"^[0-9a-fA-F]{24}$")
CUSTOM_FIELD_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")


class PayloadError(errors.PayloadError):
    """A request value Altcraft would refuse; ``field`` names the offending key."""


@dataclass(frozen=True)
class BatchItem:
    """One object of an ``*_batch`` call."""

    matching: str
    identifier: str | Mapping[str, Any]
    data: Mapping[str, Any] = field(default_factory=dict)
    field_name: str | None = None


# --- single values --------------------------------------------------------------


def clean_positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise PayloadError(name, "must be a whole number, not a boolean")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int):
        raise PayloadError(name, "must be a whole number")
    if value < 1:
        raise PayloadError(name, "must be 1 or more")
    return value


def clean_email(value: Any, name: str = "email") -> str:
    if not isinstance(value, str) or not value.strip():
        raise PayloadError(name, "must be a non-empty email address")
    if not EMAIL_RE.match(value):
        raise PayloadError(name, f"{errors.quoted(value)} is not an email address")
    return value


def clean_phone(value: Any, name: str = "phone") -> str:
    if not isinstance(value, str) or not value:
        raise PayloadError(name, "must be a non-empty phone number")
    if not PHONE_RE.match(value):
        raise PayloadError(name, f"{errors.quoted(value)} must be '+' then 6 to 15 digits (E.164)")
    return value


def clean_profile_id(value: Any, name: str = "profile_id") -> str:
    if not isinstance(value, str) or not PROFILE_ID_RE.match(value):
        raise PayloadError(name, "must be 24 hexadecimal characters")
    return value


def clean_field_name(value: Any, name: str = "field_name") -> str:
    if not isinstance(value, str) or not value:
        raise PayloadError(name, "must name a profile field")
    if value.startswith("_"):
        if value not in SYSTEM_FIELDS:
            raise PayloadError(name, f"{errors.quoted(value)} is not an Altcraft system field")
    elif not CUSTOM_FIELD_RE.match(value):
        raise PayloadError(name, f"{errors.quoted(value)} is not a valid custom field name")
    return value


# --- identifiers and data -----------------------------------------------------------


def identifier_fields(
    matching: Any, identifier: Any, *, field_name: str | None = None, prefix: str = ""
) -> dict[str, Any]:
    """The body fields that say which profile ``matching`` looks for."""
    if matching not in MATCHINGS:
        raise PayloadError(f"{prefix}matching", f"must be one of: {', '.join(MATCHINGS)}")
    parts = dict(identifier) if isinstance(identifier, Mapping) else None
    if parts is None and (identifier is None or identifier == ""):
        raise PayloadError(f"{prefix}identifier", "must not be empty")
    if matching == "custom":
        name = field_name if parts is None else parts.get("field_name", field_name)
        value = identifier if parts is None else parts.get("field_value")
        name = clean_field_name(name, f"{prefix}field_name")
        if value is None or value == "" or isinstance(value, dict | list | bool):
            raise PayloadError(f"{prefix}field_value", "must be a non-empty text or number")
        return {"field_name": name, "field_value": value}
    if matching == "email_phone":
        if parts is None:
            raise PayloadError(f"{prefix}identifier", "must be {'email': …, 'phone': …}")
        return {
            "email": clean_email(parts.get("email"), f"{prefix}email"),
            "phone": clean_phone(parts.get("phone"), f"{prefix}phone"),
        }
    value = identifier if parts is None else parts.get(matching)
    cleaners = {"email": clean_email, "phone": clean_phone, "profile_id": clean_profile_id}
    return {matching: cleaners[matching](value, f"{prefix}{matching}")}


def clean_data(data: Any, *, prefix: str = "data", required: bool = False) -> dict[str, Any]:
    """A copy of profile ``data`` after checking each key and the typed fields."""
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise PayloadError(prefix, "must be a mapping of field name to value")
    if required and not data:
        raise PayloadError(prefix, "must name at least one field to change")
    clean: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}.{key}"
        if not isinstance(key, str) or not key:
            raise PayloadError(f"{prefix}[{key!r}]", "field names must be non-empty text")
        if key.startswith("_"):
            if key not in SYSTEM_FIELDS:
                raise PayloadError(name, "is not an Altcraft system field (they start with _)")
        elif not CUSTOM_FIELD_RE.match(key):
            raise PayloadError(name, "custom field names are a letter then letters, digits or _")
        if key == "email":
            clean_email(value, name)
        elif key == "phones":
            if not isinstance(value, list | tuple):
                raise PayloadError(name, "must be a list of phone numbers")
            value = [clean_phone(p, f"{name}[{i}]") for i, p in enumerate(value)]
        else:
            _check_plain(value, name)
        clean[key] = value
    return clean


def _check_plain(value: Any, name: str) -> None:
    if value is None or isinstance(value, str | int | float | bool):
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _check_plain(item, f"{name}[{index}]")
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise PayloadError(name, "nested keys must be text")
            _check_plain(item, f"{name}.{key}")
        return
    raise PayloadError(name, f"{type(value).__name__} cannot be sent to Altcraft")


# --- whole bodies ------------------------------------------------------------------


def scope(db_id: Any, resource_id: Any = None) -> dict[str, Any]:
    body = {"db_id": clean_positive_int(db_id, "db_id")}
    if resource_id is not None:
        body["resource_id"] = clean_positive_int(resource_id, "resource_id")
    return body


def get_body(
    *, db_id: Any, resource_id: Any, matching: Any, identifier: Any, field_name: str | None
) -> dict[str, Any]:
    body = scope(db_id, resource_id)
    body["matching"] = matching
    body.update(identifier_fields(matching, identifier, field_name=field_name))
    return body


def list_body(*, db_id: Any, resource_id: Any, from_id: Any, limit: Any) -> dict[str, Any]:
    body = scope(db_id, resource_id)
    if from_id is not None:
        body["from_id"] = clean_profile_id(from_id, "from_id")
    limit = clean_positive_int(limit, "limit")
    if limit > MAX_LIST_LIMIT:
        raise PayloadError("limit", f"must be {MAX_LIST_LIMIT} or less")
    body["limit"] = limit
    return body


def write_body(
    *,
    db_id: Any,
    resource_id: Any,
    matching: Any,
    identifier: Any,
    data: Any,
    field_name: str | None = None,
    data_required: bool = False,
    skip_triggers: bool = False,
    detect_geo: bool = False,
) -> dict[str, Any]:
    body = scope(db_id, resource_id)
    body["matching"] = matching
    body.update(identifier_fields(matching, identifier, field_name=field_name))
    body["data"] = clean_data(data, required=data_required)
    body.update(_options(skip_triggers, detect_geo))
    return body


def batch_body(
    *,
    db_id: Any,
    resource_id: Any,
    items: Sequence[BatchItem | Mapping[str, Any]],
    data_required: bool = False,
    skip_triggers: bool = False,
    detect_geo: bool = False,
) -> dict[str, Any]:
    """[guess] The note names the ``*_batch`` methods but not their body: one entry per
    object under ``data``, each shaped like a single call's body without the scope."""
    if isinstance(items, str | bytes | Mapping) or not isinstance(items, Sequence):
        raise PayloadError("items", "must be a list of objects")
    if not items:
        raise PayloadError("items", "must hold at least one object")
    if len(items) > MAX_BATCH:
        raise PayloadError("items", f"at most {MAX_BATCH} objects per batch")
    body = scope(db_id, resource_id)
    entries = []
    for index, raw in enumerate(items):
        item = raw if isinstance(raw, BatchItem) else _batch_item(raw, index)
        prefix = f"items[{index}]."
        entry: dict[str, Any] = {"matching": item.matching}
        entry.update(
            identifier_fields(
                item.matching, item.identifier, field_name=item.field_name, prefix=prefix
            )
        )
        entry["data"] = clean_data(item.data, prefix=f"{prefix}data", required=data_required)
        entries.append(entry)
    body["data"] = entries
    body.update(_options(skip_triggers, detect_geo))
    return body


def _batch_item(raw: Any, index: int) -> BatchItem:
    if not isinstance(raw, Mapping):
        raise PayloadError(f"items[{index}]", "must be a BatchItem or a mapping")
    if "matching" not in raw or "identifier" not in raw:
        raise PayloadError(f"items[{index}]", "needs 'matching' and 'identifier'")
    return BatchItem(
        matching=raw["matching"],
        identifier=raw["identifier"],
        data=raw.get("data") or {},
        field_name=raw.get("field_name"),
    )


def delete_body(*, db_id: Any, resource_id: Any, profile_id: Any) -> dict[str, Any]:
    body = scope(db_id, resource_id)
    body["matching"] = "profile_id"
    body["profile_id"] = clean_profile_id(profile_id)
    return body


def _options(skip_triggers: bool, detect_geo: bool) -> dict[str, bool]:
    # Sent only when switched on: the default body stays the doc's minimal example.
    options = {}
    if skip_triggers:
        options["skip_triggers"] = True
    if detect_geo:
        options["detect_geo"] = True
    return options

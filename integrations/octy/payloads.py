"""Octy request objects, the rules they must follow, and the JSON bodies built from them.

Everything here is checked before a request leaves (providers/octy.md: endpoints):
a body Octy would reject in part comes back as a partial failure that is easy to
miss, so the console refuses it up front with a :class:`PayloadError` naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from integrations import errors

MAX_BATCH = 500
MAX_IDS = 100
MAX_IDENTIFIER = 60
MAX_ITEM_DESCRIPTION = 40
CREATED_AT_FORMAT = "%Y-%m-%d %H:%M:%S"
STATUSES = ("active", "inactive", "churned")
CHURN_LABELS = ("low", "mid", "high", "very-high")
IDENTIFIER_FORBIDDEN = frozenset(",\"'.")
EVENT_TYPE_FORBIDDEN = IDENTIFIER_FORBIDDEN | {" "}
CHARGED = "charged"
CHARGED_REQUIRED = ("payment_method", "item_id")

_RFM_RE = re.compile(r"^(\d+)-(\d+)$")
_CREATED_AT_RE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")


class PayloadError(errors.PayloadError):
    """A request object breaks one of Octy's rules; ``field`` names where."""


# --- request objects ------------------------------------------------------------


@dataclass(frozen=True)
class NewProfile:
    customer_id: str
    profile_data: Mapping[str, Any] = field(default_factory=dict)
    platform_info: Mapping[str, Any] = field(default_factory=dict)
    has_charged: bool = False


@dataclass(frozen=True)
class ProfileUpdate:
    """Only the fields that are not None are sent."""

    profile_id: str
    customer_id: str | None = None
    profile_data: Mapping[str, Any] | None = None
    platform_info: Mapping[str, Any] | None = None
    has_charged: bool | None = None
    status: str | None = None


@dataclass(frozen=True)
class OctyEvent:
    event_type: str
    profile_id: str
    event_properties: Mapping[str, Any] = field(default_factory=dict)
    created_at: str | datetime | None = None


@dataclass(frozen=True)
class EventTypeDefinition:
    event_type: str
    event_properties: tuple[str, ...] = ()


@dataclass(frozen=True)
class ItemSpec:
    item_id: str
    item_category: str
    item_name: str
    item_description: str
    item_price: int


# --- single-value rules ---------------------------------------------------------


def identifier_problem(value: Any, forbidden: frozenset[str] = IDENTIFIER_FORBIDDEN) -> str | None:
    """Why ``value`` is not a valid Octy identifier, or None when it is."""
    if not isinstance(value, str):
        return "must be a string"
    if not 1 <= len(value) <= MAX_IDENTIFIER:
        return f"must be 1 to {MAX_IDENTIFIER} characters long"
    bad = sorted({c for c in value if c in forbidden})
    if bad:
        shown = ", ".join("space" if c == " " else repr(c) for c in bad)
        return f"must not contain {shown}"
    return None


def check_customer_id(value: Any, name: str = "customer_id") -> str:
    problem = identifier_problem(value)
    if problem:
        raise PayloadError(name, problem)
    return value


def check_event_type(value: Any, name: str = "event_type") -> str:
    problem = identifier_problem(value, EVENT_TYPE_FORBIDDEN)
    if problem:
        raise PayloadError(name, problem)
    return value


def check_lookup_id(value: Any, name: str) -> str:
    """A profile_id or customer_id: ids travel comma-joined in ``?ids=``."""
    if not isinstance(value, str) or not value.strip():
        raise PayloadError(name, "must be a non-empty string")
    if "," in value:
        raise PayloadError(name, "must not contain ','")
    return value.strip()


def attributes_problem(value: Any) -> tuple[str, str] | None:
    """(key, reason) for the first unusable entry of a profile_data/platform_info dict."""
    if not isinstance(value, Mapping):
        return "", "must be an object"
    for key, item in value.items():
        if not isinstance(key, str) or not key:
            return str(key), "keys must be non-empty strings"
        if item is None:
            return key, "must not be null"
        if isinstance(item, str | list | dict | tuple) and len(item) == 0:
            return key, "must not be empty"
    return None


def check_attributes(value: Any, name: str) -> dict[str, Any]:
    problem = attributes_problem(value)
    if problem:
        key, reason = problem
        raise PayloadError(f"{name}.{key}" if key else name, reason)
    return dict(value)


def format_created_at(value: str | datetime, name: str = "created_at") -> str:
    """``YYYY-MM-DD HH:MM:SS``; datetimes are formatted, strings must already match."""
    if isinstance(value, datetime):
        return value.strftime(CREATED_AT_FORMAT)
    if isinstance(value, str) and _CREATED_AT_RE.match(value):
        try:
            datetime.strptime(value, CREATED_AT_FORMAT)
        except ValueError:
            pass
        else:
            return value
    raise PayloadError(name, "must be a date and time as YYYY-MM-DD HH:MM:SS")


def check_rfm(value: str) -> str:
    match = _RFM_RE.match(value) if isinstance(value, str) else None
    if not match:
        raise PayloadError("rfm", "must look like <int>-<int>, e.g. 111-355")
    if int(match.group(1)) > int(match.group(2)):
        raise PayloadError("rfm", "the lower bound must not exceed the upper bound")
    return value


def check_churn_prob(value: str) -> str:
    if value not in CHURN_LABELS:
        raise PayloadError("churn_prob", f"must be one of: {', '.join(CHURN_LABELS)}")
    return value


def check_batch(values: Sequence[Any], name: str, limit: int = MAX_BATCH) -> list[Any]:
    values = list(values)
    if not 1 <= len(values) <= limit:
        raise PayloadError(name, f"must hold 1 to {limit} entries (got {len(values)})")
    return values


def check_ids(ids: Sequence[str] | str, name: str = "ids") -> list[str]:
    """1–100 profile_id/customer_id values for a ``?ids=`` lookup."""
    if isinstance(ids, str):
        ids = [ids]
    ids = check_batch(ids, name, MAX_IDS)
    return [check_lookup_id(v, f"{name}[{i}]") for i, v in enumerate(ids)]


def _check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise PayloadError(name, "must be true or false")
    return value


# --- bodies ---------------------------------------------------------------------


def profile_body(profile: NewProfile, name: str = "profile") -> dict[str, Any]:
    return {
        "customer_id": check_customer_id(profile.customer_id, f"{name}.customer_id"),
        "profile_data": check_attributes(profile.profile_data, f"{name}.profile_data"),
        "platform_info": check_attributes(profile.platform_info, f"{name}.platform_info"),
        "has_charged": _check_bool(profile.has_charged, f"{name}.has_charged"),
    }


def profile_update_body(update: ProfileUpdate, name: str = "profile") -> dict[str, Any]:
    body: dict[str, Any] = {
        "profile_id": check_lookup_id(update.profile_id, f"{name}.profile_id"),
    }
    if update.customer_id is not None:
        body["customer_id"] = check_customer_id(update.customer_id, f"{name}.customer_id")
    if update.profile_data is not None:
        body["profile_data"] = check_attributes(update.profile_data, f"{name}.profile_data")
    if update.platform_info is not None:
        body["platform_info"] = check_attributes(update.platform_info, f"{name}.platform_info")
    if update.has_charged is not None:
        body["has_charged"] = _check_bool(update.has_charged, f"{name}.has_charged")
    if update.status is not None:
        if update.status not in STATUSES:
            raise PayloadError(f"{name}.status", f"must be one of: {', '.join(STATUSES)}")
        body["status"] = update.status
    return body


def event_body(event: OctyEvent, name: str = "event") -> dict[str, Any]:
    event_type = check_event_type(event.event_type, f"{name}.event_type")
    properties = event.event_properties
    if not isinstance(properties, Mapping):
        raise PayloadError(f"{name}.event_properties", "must be an object")
    if event_type == CHARGED:
        # providers/octy.md: `charged` needs string payment_method and item_id
        for key in CHARGED_REQUIRED:
            value = properties.get(key)
            if not isinstance(value, str) or not value:
                raise PayloadError(
                    f"{name}.event_properties.{key}", "is required as a string for charged"
                )
    body: dict[str, Any] = {
        "event_type": event_type,
        "event_properties": dict(properties),
        "profile_id": check_lookup_id(event.profile_id, f"{name}.profile_id"),
    }
    if event.created_at is not None:
        body["created_at"] = format_created_at(event.created_at, f"{name}.created_at")
    return body


def event_type_body(definition: EventTypeDefinition, name: str = "event_type") -> dict[str, Any]:
    properties = list(definition.event_properties)
    for i, prop in enumerate(properties):
        if not isinstance(prop, str) or not prop:
            raise PayloadError(f"{name}.event_properties[{i}]", "must be a non-empty string")
    return {
        "event_type": check_event_type(definition.event_type, f"{name}.event_type"),
        "event_properties": properties,
    }


def item_body(item: ItemSpec, name: str = "item") -> dict[str, Any]:
    for key in ("item_category", "item_name"):
        value = getattr(item, key)
        if not isinstance(value, str) or not value.strip():
            raise PayloadError(f"{name}.{key}", "must be a non-empty string")
    description = item.item_description
    if not isinstance(description, str) or not 1 <= len(description) <= MAX_ITEM_DESCRIPTION:
        raise PayloadError(
            f"{name}.item_description", f"must be 1 to {MAX_ITEM_DESCRIPTION} characters long"
        )
    # bool is an int subclass; a price of True is a bug, not a price.
    if not isinstance(item.item_price, int) or isinstance(item.item_price, bool):
        raise PayloadError(f"{name}.item_price", "must be an integer")
    return {
        "item_id": check_customer_id(item.item_id, f"{name}.item_id"),
        "item_category": item.item_category,
        "item_name": item.item_name,
        "item_description": description,
        "item_price": item.item_price,
    }


def batch_body(key: str, objects: Iterable[Any], build: Any) -> dict[str, Any]:
    """``{key: [build(obj, "key[i]") ...]}`` after the 1–500 size check."""
    objects = check_batch(list(objects), key)
    return {key: [build(obj, f"{key}[{i}]") for i, obj in enumerate(objects)]}


def id_batch_body(key: str, ids: Iterable[str]) -> dict[str, Any]:
    ids = check_batch(list(ids), key)
    return {key: [check_lookup_id(v, f"{key}[{i}]") for i, v in enumerate(ids)]}


def profile_filters(
    rfm: str | None = None, churn_prob: str | None = None, segments: Iterable[str] = ()
) -> dict[str, str]:
    """Query parameters for a profile listing (providers/octy.md: endpoints)."""
    params: dict[str, str] = {}
    if rfm is not None:
        params["rfm"] = check_rfm(rfm)
    if churn_prob is not None:
        params["churn_prob"] = check_churn_prob(churn_prob)
    names = [segments] if isinstance(segments, str) else list(segments)
    if names:
        params["segments"] = ",".join(
            check_lookup_id(s, f"segments[{i}]") for i, s in enumerate(names)
        )
    return params

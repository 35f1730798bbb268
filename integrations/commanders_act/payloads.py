"""Commanders Act event bodies: validation, v1 -> v2 migration, size limits, batching.

The API answers 200 to every event, valid or not (providers/commanders-act.md:
Responses), so everything the console can know about an event's shape it must check
here, before sending.

Sizes are measured on the bytes actually sent: the compact UTF-8 JSON that
``integrations.http.encode_json`` produces. An event of exactly ``EVENT_LIMIT_BYTES``
passes, one byte more is refused; a batch is measured as its whole
``{"batch":[...]}`` body.
"""

from __future__ import annotations

import math
import re
import time
import uuid
from dataclasses import dataclass
from typing import Any

from integrations import errors
from integrations.http import encode_json

# providers/commanders-act.md: "400 only when the request exceeds 32 KB" and batch:
# "At most 500 KB per request and 32 KB per event". The doc never defines KB, so the
# smaller reading (1 KB = 1,000 bytes) is the one no request can be refused under.
EVENT_LIMIT_BYTES = 32_000
BATCH_LIMIT_BYTES = 500_000

# The fixed part of a batch body: b'{"batch":[' + b']}'.
BATCH_OVERHEAD_BYTES = len(encode_json({"batch": []}))

# providers/commanders-act.md: Version 1 — the doc's examples of root metadata that
# moved into `context`. The doc says *all* contextual metadata moved ("for example"
# these five): the converter moves every root key but the ones below.
V1_CONTEXT_KEYS = ("event_id", "event_timestamp", "device", "page", "app")
# What a v1 root may hold that is not contextual metadata: the event's name, its
# `properties` (event data), and a `user` some old integrations put at the root (v2
# keeps user at the root, so moving it into context would lose it).
V1_ROOT_KEYS = ("event_name", "properties", "user")

STANDARD_EVENTS = frozenset(
    {
        "page_view",
        "search",
        "add_to_cart",
        "begin_checkout",
        "add_payment_info",
        "purchase",
        "refund",
        "generate_lead",
    }
)
PURCHASE_REQUIRED = ("id", "revenue", "value", "currency", "items")
PURCHASE_RECOMMENDED = ("type", "payment_method", "status")

_DIGITS = re.compile(r"^[0-9]+$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
# Below this an epoch-milliseconds timestamp would be before March 1973: almost
# certainly seconds sent by mistake.
_SECONDS_LOOKALIKE = 100_000_000_000


class PayloadError(errors.PayloadError):
    """An event the console must not send; ``path`` names the offending field."""


def encoded_size(value: Any) -> int:
    """Bytes ``value`` takes on the wire (compact UTF-8 JSON)."""
    return len(encode_json(value))


def check_event_size(event: dict[str, Any], *, where: str = "event") -> int:
    """The event's size in bytes; raises :class:`PayloadError` above 32 KB."""
    try:
        size = encoded_size(event)
    except RecursionError:
        raise PayloadError(where, "is nested too deeply to encode") from None
    if size > EVENT_LIMIT_BYTES:
        raise PayloadError(
            where,
            f"is {size:,} bytes as JSON; Commanders Act refuses events over "
            f"{EVENT_LIMIT_BYTES:,} bytes (32 KB)",
        )
    return size


# --- validation ---------------------------------------------------------------------


def validate_event(event: Any) -> dict[str, Any]:
    """The cleaned v2 event, or :class:`PayloadError` naming the first bad field.

    Cleaning only converts a numeric-string ``context.event_timestamp`` to an integer
    (providers/commanders-act.md marks the string form [conflict]: always send an
    integer). The caller's dict is not modified.
    """
    if not isinstance(event, dict):
        raise PayloadError("event", "must be a JSON object")
    if is_v1(event):
        raise PayloadError("event", "is in the deprecated v1 format; convert it to v2 first")
    _check_json(event, "")
    name = event.get("event_name")
    if not isinstance(name, str) or not name.strip():
        raise PayloadError("event_name", "is required and must be a non-empty string")
    for key in ("user", "context"):
        if key not in event:
            raise PayloadError(key, "is required (an object)")
        if not isinstance(event[key], dict):
            raise PayloadError(key, "must be an object")
    context = dict(event["context"])
    if "event_timestamp" in context:
        context["event_timestamp"] = _clean_timestamp(context["event_timestamp"])
    if "event_id" in context:
        event_id = context["event_id"]
        if not isinstance(event_id, str) or not event_id.strip():
            raise PayloadError("context.event_id", "must be a non-empty string")
    for key in ("page", "device", "app"):
        if key in context and not isinstance(context[key], dict):
            raise PayloadError(f"context.{key}", "must be an object")
    if "currency" in event:
        _check_currency(event["currency"], "currency")
    if "items" in event:
        _check_items(event["items"])
    if name == "purchase":
        _check_purchase(event)
    cleaned = {**event, "context": context}
    check_event_size(cleaned)
    return cleaned


def _clean_timestamp(value: Any) -> int:
    path = "context.event_timestamp"
    if isinstance(value, bool):
        raise PayloadError(path, "must be an integer of epoch milliseconds, not a boolean")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and _DIGITS.match(value.strip()):
        number = int(value.strip())
    else:
        raise PayloadError(path, "must be an integer of epoch milliseconds")
    if number < 0:
        raise PayloadError(path, "must not be negative")
    return number


def _check_currency(value: Any, path: str) -> None:
    if not isinstance(value, str) or not _CURRENCY.match(value):
        raise PayloadError(path, "must be an ISO 4217 code of three capital letters, like EUR")


def _check_items(items: Any) -> None:
    if not isinstance(items, list):
        raise PayloadError("items", "must be a list of objects")
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise PayloadError(f"items[{index}]", "must be an object")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_purchase(event: dict[str, Any]) -> None:
    # providers/commanders-act.md: standard events, purchase.
    for key in PURCHASE_REQUIRED:
        if key not in event or event[key] in (None, ""):
            raise PayloadError(key, "is required for a purchase event")
    if not isinstance(event["id"], str | int) or isinstance(event["id"], bool):
        raise PayloadError("id", "must be a string or a number (the order id)")
    for key in ("revenue", "value"):
        if not _is_number(event[key]):
            raise PayloadError(key, "must be a number")


def _check_json(value: Any, path: str) -> None:
    """Refuse what would not encode as valid JSON (NaN, sets, non-string keys...)."""
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str):
                    raise PayloadError(where or "event", f"has a non-string key {key!r}")
                stack.append((child, f"{where}.{key}" if where else key))
        elif isinstance(item, list | tuple):
            stack.extend((child, f"{where}[{i}]") for i, child in enumerate(item))
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise PayloadError(where, "must be a finite number (JSON has no NaN/Infinity)")
        elif item is not None and not isinstance(item, str | int | bool):
            raise PayloadError(where, f"cannot be sent as JSON ({type(item).__name__})")


def event_warnings(event: dict[str, Any]) -> list[str]:
    """Fields the OpenAPI or the standard events recommend that the event lacks.

    Commanders Act accepts the event without them but may not attribute or route it.
    """
    warnings: list[str] = []
    user = event.get("user") if isinstance(event.get("user"), dict) else {}
    context = event.get("context") if isinstance(event.get("context"), dict) else {}
    if not user.get("consistent_anonymous_id"):
        warnings.append(
            "user.consistent_anonymous_id is missing: Commanders Act uses it to identify "
            "the user (the CAID cookie's equivalent)"
        )
    if "event_id" not in context:
        warnings.append("context.event_id is missing: duplicates cannot be told apart")
    timestamp = context.get("event_timestamp")
    if timestamp is None:
        warnings.append("context.event_timestamp is missing: the receipt time will be used")
    elif isinstance(timestamp, int) and 0 <= timestamp < _SECONDS_LOOKALIKE:
        warnings.append(
            "context.event_timestamp looks like seconds; Commanders Act expects milliseconds"
        )
    if event.get("event_name") == "purchase":
        for key in PURCHASE_RECOMMENDED:
            if key not in event:
                warnings.append(f"{key} is recommended for a purchase event")
    return warnings


def fill_defaults(
    event: dict[str, Any], now_ms: int | None = None, event_id: str | None = None
) -> dict[str, Any]:
    """A copy with ``context.event_id`` (uuid4) and ``context.event_timestamp`` (now,
    in ms) filled in where absent or null; a value the user gave is never changed."""
    context = event.get("context")
    if context is None:
        context = {}
    if not isinstance(context, dict):
        return dict(event)  # validate_event will name the problem
    context = dict(context)
    if context.get("event_id") is None:
        context["event_id"] = event_id or str(uuid.uuid4())
    if context.get("event_timestamp") is None:
        context["event_timestamp"] = now_ms if now_ms is not None else int(time.time() * 1000)
    return {**event, "context": context}


# --- v1 -> v2 -----------------------------------------------------------------------


def is_v1(payload: Any) -> bool:
    """Whether ``payload`` is in the deprecated v1 shape.

    A v2 event always carries ``context``; v1 has none and either wraps its data in
    ``properties`` or keeps the metadata (event_id, page, ...) at the root.
    """
    if not isinstance(payload, dict) or "context" in payload:
        return False
    return "properties" in payload or any(key in payload for key in V1_CONTEXT_KEYS)


@dataclass(frozen=True)
class V1Conversion:
    """A v1 payload's v2 form and every move made to get there.

    ``moved`` holds ``(from, to)`` paths in payload order, e.g.
    ``("properties.revenue", "revenue")``, ``("event_id", "context.event_id")``,
    ``("page.location", "context.page.url")``: what a page shows the user so the
    conversion is never silent.
    """

    event: dict[str, Any]
    moved: tuple[tuple[str, str], ...]


def convert_v1(payload: dict[str, Any]) -> V1Conversion:
    """The v2 form of a v1 payload (providers/commanders-act.md: Version 1 migration),
    with what moved.

    Everything inside ``properties`` moves to the root. *All* root-level contextual
    metadata moves into ``context`` (the doc: "All contextual meta-data were at the
    root, they are now inside a new context object", the five it names being
    examples): every root key except ``event_name``, ``properties`` and ``user``.
    ``page.location`` becomes ``page.url``. Nothing is dropped: when two sources give
    a key different values, :class:`PayloadError` names both.
    """
    if not isinstance(payload, dict):
        raise PayloadError("event", "must be a JSON object")
    properties = payload.get("properties", {})
    if properties is None:
        properties = {}
    if not isinstance(properties, dict):
        raise PayloadError("properties", "must be an object")
    if "properties" in properties:
        raise PayloadError(
            "properties.properties", "a v2 event cannot carry a root field named properties"
        )
    if "context" in payload:  # is_v1 says no context: a caller forced the conversion
        raise PayloadError("context", "a v1 payload has no context object")

    event: dict[str, Any] = {}
    context: dict[str, Any] = {}
    sources: dict[str, str] = {}
    moved: list[tuple[str, str]] = []
    for key, value in payload.items():
        if key == "properties":
            continue
        if key in V1_ROOT_KEYS:
            event[key] = value
            sources[key] = key
            continue
        if key == "page" and isinstance(value, dict) and "location" in value:
            value = _page_v2(value)
            moved.append(("page.location", "context.page.url"))
        context[key] = value
        moved.append((key, f"context.{key}"))
    for key, value in properties.items():
        where = f"properties.{key}"
        if key == "context":
            if not isinstance(value, dict):
                raise PayloadError(where, "must be an object")
            for inner, inner_value in value.items():
                _put(context, inner, inner_value, f"{where}.{inner}", f"{inner} (v1 root)")
                moved.append((f"{where}.{inner}", f"context.{inner}"))
            continue
        _put(event, key, value, where, sources.get(key, key))
        moved.append((where, key))
    event["context"] = context
    return V1Conversion(event, tuple(moved))


def convert_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """The v2 event of :func:`convert_v1` (kept for callers that need only the event)."""
    return convert_v1(payload).event


def _page_v2(page: Any) -> Any:
    if not isinstance(page, dict) or "location" not in page:
        return page
    page = dict(page)
    location = page.pop("location")
    if "url" in page and page["url"] != location:
        raise PayloadError("page.location", "conflicts with page.url; keep one of them")
    page["url"] = location
    return page


def _put(target: dict[str, Any], key: str, value: Any, where: str, other: str) -> None:
    if key in target and target[key] != value:
        raise PayloadError(where, f"conflicts with {other}; keep one of them")
    target[key] = value


def normalize_event(payload: Any) -> tuple[dict[str, Any], bool]:
    """``(validated v2 event, converted)``: v1 payloads are converted, never sent."""
    converted = is_v1(payload)
    event = convert_v1_to_v2(payload) if converted else payload
    return validate_event(event), converted


# The packers live in packing.py; these names stay importable from here for callers
# written before the split.
_PACKING = frozenset(
    {
        "pack_keyed_batches",
        "pack_batches",
        "pack_encoded_batches",
        "pack_encoded_requests",
        "OversizeCallback",
    }
)


def __getattr__(name: str) -> Any:
    if name in _PACKING:
        from integrations.commanders_act import packing

        return getattr(packing, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Turning what a user typed into the exact event a provider will receive.

One function per provider: validate (JSON, required fields, sizes), fill what the
provider needs and the user left out (timestamps, event ids, tab id, client id), and
encode the body once. What comes back is stored as is, so a retry sends the same bytes.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from integrations.commanders_act import payloads as ca_payloads
from integrations.croct import payloads as croct_payloads
from integrations.croct.models import TrackEvent
from integrations.http import encode_json
from integrations.octy import payloads as octy_payloads
from integrations.octy.payloads import OctyEvent

CROCT_DEFAULT_URL = "https://console.switchyard.invalid/events"


class EventRefused(ValueError):
    """The event cannot be queued; ``errors`` lists why (``path: message``)."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class PreparedEvent:
    event_type: str
    body: str
    size_bytes: int
    idempotency_key: str
    user_id: str = ""
    identifiers: dict[str, str] = field(default_factory=dict)
    envelope: dict[str, Any] = field(default_factory=dict)
    converted_from_v1: bool = False
    warnings: tuple[str, ...] = ()

    @property
    def payload(self) -> Any:
        return json.loads(self.body)


# Starting points for the composer: the common events of each provider.
TEMPLATES: dict[str, dict[str, dict[str, Any]]] = {
    "commanders_act": {
        "page_view": {
            "event_name": "page_view",
            "user": {"consistent_anonymous_id": "caid-demo-1", "id": "customer-42"},
            "context": {"page": {"url": "https://shop.example/", "title": "Home"}},
        },
        "add_to_cart": {
            "event_name": "add_to_cart",
            "currency": "EUR",
            "value": 19.9,
            "items": [{"id": "sku-1", "quantity": 1, "price": 19.9}],
            "user": {"consistent_anonymous_id": "caid-demo-1"},
            "context": {},
        },
        "purchase": {
            "event_name": "purchase",
            "id": "order-1001",
            "revenue": 39.8,
            "value": 39.8,
            "currency": "EUR",
            "type": "online",
            "payment_method": "card",
            "status": "paid",
            "items": [{"id": "sku-1", "quantity": 2, "price": 19.9}],
            "user": {"consistent_anonymous_id": "caid-demo-1", "id": "customer-42"},
            "context": {},
        },
    },
    "croct": {
        "goalCompleted": {"type": "goalCompleted", "goalId": "newsletter-signup", "value": 1},
        "eventOccurred": {"type": "eventOccurred", "name": "demo-played", "details": {}},
        "pageOpened": {"type": "pageOpened", "url": "https://shop.example/"},
        "userSignedUp": {"type": "userSignedUp", "userId": "customer-42"},
    },
    "octy": {
        "charged": {
            "event_type": "charged",
            "profile_id": "",
            "event_properties": {"payment_method": "card", "item_id": "item-1"},
        },
        "page_view": {"event_type": "page_view", "profile_id": "", "event_properties": {}},
    },
}


def event_types_for(provider: str) -> list[str]:
    if provider == "croct":
        return sorted(croct_payloads.TRACK_EVENT_TYPES)
    if provider == "commanders_act":
        return sorted(ca_payloads.STANDARD_EVENTS)
    return sorted(TEMPLATES.get(provider, {}))


def parse_json(text: str) -> Any:
    """The JSON value in ``text``; :class:`EventRefused` saying where it breaks."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise EventRefused(
            [f"payload: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"]
        ) from None


def prepare(
    provider: str,
    payload: Any,
    *,
    event_type: str = "",
    options: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> PreparedEvent:
    """The event ready to queue; raises :class:`EventRefused`."""
    now = now or datetime.now(UTC)
    options = options or {}
    if isinstance(payload, str):
        payload = parse_json(payload)
    if not isinstance(payload, dict):
        raise EventRefused(["payload: must be a JSON object"])
    builder = _BUILDERS.get(provider)
    if builder is None:
        raise EventRefused([f"provider: {provider} does not take events"])
    try:
        return builder(payload, event_type.strip(), options, now)
    except (ValueError, TypeError) as exc:
        if isinstance(exc, EventRefused):
            raise
        raise EventRefused([str(exc)]) from None


def _commanders_act(payload: dict, event_type: str, options: dict, now: datetime) -> PreparedEvent:
    converted = ca_payloads.is_v1(payload)
    event = ca_payloads.convert_v1_to_v2(payload) if converted else dict(payload)
    if event_type and not event.get("event_name"):
        event = {"event_name": event_type, **event}
    elif event_type and event.get("event_name") != event_type:
        raise EventRefused(
            [f"event_name: is {event.get('event_name')!r} but the event type is {event_type!r}"]
        )
    # providers/commanders-act.md: event_name, user and context are required; an empty
    # context is fine (event_id and event_timestamp are filled in).
    missing = [key for key in ("user", "context") if key not in event]
    if missing:
        raise EventRefused([f"{key}: is required (an object)" for key in missing])
    event = ca_payloads.fill_defaults(event, now_ms=int(now.timestamp() * 1000))
    event = ca_payloads.validate_event(event)  # also refuses anything over 32 KB
    body = encode_json(event)
    user = event["user"]
    identifiers = {
        key: str(user[key])
        for key in ("id", "consistent_anonymous_id", "email")
        if user.get(key) not in (None, "")
    }
    return PreparedEvent(
        event_type=event["event_name"],
        body=body.decode("utf-8"),
        size_bytes=len(body),
        # providers/commanders-act.md: context.event_id tells duplicates apart.
        idempotency_key=str(event["context"]["event_id"])[:100],
        user_id=identifiers.get("id") or identifiers.get("consistent_anonymous_id", ""),
        identifiers=identifiers,
        converted_from_v1=converted,
        warnings=tuple(ca_payloads.event_warnings(event)),
    )


def _croct(payload: dict, event_type: str, options: dict, now: datetime) -> PreparedEvent:
    if event_type and not payload.get("type"):
        payload = {"type": event_type, **payload}
    elif event_type and payload.get("type") != event_type:
        raise EventRefused(
            [f"payload.type: is {payload.get('type')!r} but the event type is {event_type!r}"]
        )
    prepared = dict(payload)
    renames = prepared.get("type") == "userSignedUp" and "externalUserId" not in prepared
    if renames and "userId" in prepared:
        # As the SDK does (providers/croct.md: track).
        prepared["externalUserId"] = prepared.pop("userId")
    violations = croct_payloads.track_payload_violations(prepared)
    if violations:
        raise EventRefused([f"{v.path}: {v.reason}" for v in violations])
    client_id = options.get("client_id") or str(uuid.uuid4())
    croct_payloads.validate_client_id(client_id, "client_id")
    now_ms = int(now.timestamp() * 1000)
    event = TrackEvent(
        payload=prepared,
        url=options.get("url") or CROCT_DEFAULT_URL,
        client_id=client_id,
        tab_id=str(uuid.uuid4()),
        original_time=now_ms,
        departure_time=now_ms,
    )
    body = encode_json(event.body())
    identifiers = {"client_id": client_id}
    if prepared.get("externalUserId"):
        identifiers["user_id"] = str(prepared["externalUserId"])
    return PreparedEvent(
        event_type=prepared["type"],
        body=body.decode("utf-8"),
        size_bytes=len(body),
        # Croct's track has no idempotency key: the console's own id for this event.
        idempotency_key=uuid.uuid4().hex,
        user_id=identifiers.get("user_id", client_id),
        identifiers=identifiers,
        envelope={"client_id": client_id},
    )


def _octy(payload: dict, event_type: str, options: dict, now: datetime) -> PreparedEvent:
    if event_type and not payload.get("event_type"):
        payload = {"event_type": event_type, **payload}
    elif event_type and payload.get("event_type") != event_type:
        raise EventRefused(
            [f"event_type: is {payload.get('event_type')!r} but the event type is {event_type!r}"]
        )
    unknown = set(payload) - {"event_type", "profile_id", "event_properties", "created_at"}
    if unknown:
        raise EventRefused([f"{key}: is not a field of an Octy event" for key in sorted(unknown)])
    event = OctyEvent(
        event_type=payload.get("event_type"),
        profile_id=payload.get("profile_id"),
        event_properties=payload.get("event_properties") or {},
        created_at=payload.get("created_at") or now.replace(tzinfo=None),
    )
    built = octy_payloads.event_body(event)
    body = encode_json(built)
    return PreparedEvent(
        event_type=built["event_type"],
        body=body.decode("utf-8"),
        size_bytes=len(body),
        idempotency_key=uuid.uuid4().hex,
        user_id=built["profile_id"],
        identifiers={"profile_id": built["profile_id"]},
    )


_BUILDERS = {"commanders_act": _commanders_act, "croct": _croct, "octy": _octy}


def croct_track_event(body: dict[str, Any], envelope: dict[str, Any]) -> TrackEvent:
    """The stored track body as the client's TrackEvent (sends the same bytes)."""
    context = body["context"]
    return TrackEvent(
        payload=body["payload"],
        url=context["url"],
        client_id=envelope.get("client_id"),
        tab_id=context["tabId"],
        time_zone=context.get("timeZone"),
        metadata=context.get("metadata"),
        original_time=body["originalTime"],
        departure_time=body["departureTime"],
    )


def octy_event(body: dict[str, Any]) -> OctyEvent:
    return OctyEvent(
        event_type=body["event_type"],
        profile_id=body["profile_id"],
        event_properties=body.get("event_properties") or {},
        created_at=body.get("created_at"),
    )

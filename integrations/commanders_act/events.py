"""Commanders Act's events: v2 events (v1 converted), packed into batches by size
(providers/commanders-act.md: Batch — 500 KB per request, 32 KB per event)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from integrations.commanders_act import packing, payloads
from integrations.commanders_act.client import ACCEPTED_NOTE
from integrations.errors import PayloadError, ProviderError
from integrations.events import E, EventOutcome, EventsAdapter, InvalidEvent, PreparedEvent
from integrations.http import encode_json


class CommandersActEvents(EventsAdapter):
    provider = "commanders_act"
    # No count limit: batches are bounded by bytes (see :meth:`batches`).
    max_batch = None
    templates = {
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
    }
    payload_help = "a v2 event (a v1 event is converted)"
    converted_note = "This was a Commanders Act v1 event: it was converted to v2."
    converted_format = "Commanders Act v1"
    inspector_note = (
        'Commanders Act answers 200 to everything it receives: "accepted" means the '
        "collect endpoint took the event, not that it was processed. Confirm in Commanders "
        "Act's event inspector; this record is the console's only proof of what was sent."
    )

    # providers/commanders-act.md: Responses — a 200 means the collect endpoint took
    # the request, usable or not; only the event inspector shows it arrived.
    delivered_label = "Accepted by the collect endpoint"
    delivered_note = ACCEPTED_NOTE

    def event_types(self) -> list[str]:
        return sorted(payloads.STANDARD_EVENTS)

    def build(
        self, payload: dict[str, Any], event_type: str, options: dict[str, Any], now: datetime
    ) -> PreparedEvent:
        converted = payloads.is_v1(payload)
        moved: tuple[tuple[str, str], ...] = ()
        if converted:
            conversion = payloads.convert_v1(payload)
            event, moved = conversion.event, conversion.moved
        else:
            event = dict(payload)
        if event_type and not event.get("event_name"):
            event = {"event_name": event_type, **event}
        elif event_type and event.get("event_name") != event_type:
            raise InvalidEvent(
                [f"event_name: is {event.get('event_name')!r} but the event type is {event_type!r}"]
            )
        # providers/commanders-act.md: event_name, user and context are required; an
        # empty context is fine (event_id and event_timestamp are filled in).
        missing = [key for key in ("user", "context") if key not in event]
        if missing:
            raise InvalidEvent([f"{key}: is required (an object)" for key in missing])
        event = payloads.fill_defaults(event, now_ms=int(now.timestamp() * 1000))
        event = payloads.validate_event(event)  # also refuses anything over 32 KB
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
            moved=moved,
            warnings=tuple(payloads.event_warnings(event)),
        )

    def batches(self, events: Sequence[E], *, client: Any = None) -> Iterator[list[E]]:
        # providers/commanders-act.md: Batch — a closed beta, 500,000 bytes per request,
        # 32,000 per event. A source outside the beta (the default) sends each event
        # as its own /events request; without a client nothing says it is in the beta.
        bodies = ((e, e.body.encode("utf-8")) for e in events)
        batching = bool(getattr(client, "batch_beta", False))
        for batch in packing.pack_encoded_requests(bodies, batching=batching):
            yield [e for e, _ in batch]

    def send_batch(self, client: Any, events: Sequence[Any]) -> list[EventOutcome]:
        try:
            # The stored bytes go out as they are (one event alone, several as a batch).
            client.send_encoded(
                [e.body.encode("utf-8") for e in events], [e.idempotency_key for e in events]
            )
        except (ProviderError, PayloadError) as error:
            return self.all_failed(events, self.problem_of(error))
        return [EventOutcome.accepted(e) for e in events]

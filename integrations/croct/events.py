"""Croct's events: the track payload, one event per request (providers/croct.md: track)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from integrations.croct import payloads
from integrations.croct.models import TrackEvent
from integrations.errors import PayloadError, ProviderError
from integrations.events import EventOutcome, EventsAdapter, InvalidEvent, PreparedEvent
from integrations.http import encode_json
from integrations.provider import Field

# providers/croct.md: track — context.url is required. An invented page would land
# in the workspace's analytics as a real visit, so the user must give it.
URL_REQUIRED = "Croct needs the page URL the event happened on"


class CroctEvents(EventsAdapter):
    provider = "croct"
    # providers/croct.md: track takes one event per request.
    max_batch = 1
    templates = {
        "goalCompleted": {"type": "goalCompleted", "goalId": "newsletter-signup", "value": 1},
        "eventOccurred": {"type": "eventOccurred", "name": "demo-played", "details": {}},
        # The user fills in the page they opened (nothing invented reaches analytics).
        "pageOpened": {"type": "pageOpened", "url": ""},
        "userSignedUp": {"type": "userSignedUp", "userId": "customer-42"},
    }
    payload_help = "the track payload"
    options = (
        Field(
            "url",
            "Page URL",
            help_text=(
                "Croct only: the page the event happened on (required; a pageOpened "
                "event's own url is used when this is empty)."
            ),
            required=False,
        ),
        Field(
            "client_id",
            "Croct client id",
            help_text="Croct only: the visitor's client id (a UUID); a new one when empty.",
            required=False,
        ),
    )

    def event_types(self) -> list[str]:
        return sorted(payloads.TRACK_EVENT_TYPES)

    def build(
        self, payload: dict[str, Any], event_type: str, options: dict[str, Any], now: datetime
    ) -> PreparedEvent:
        if event_type and not payload.get("type"):
            payload = {"type": event_type, **payload}
        elif event_type and payload.get("type") != event_type:
            raise InvalidEvent(
                [f"payload.type: is {payload.get('type')!r} but the event type is {event_type!r}"]
            )
        prepared = dict(payload)
        renames = prepared.get("type") == "userSignedUp" and "externalUserId" not in prepared
        if renames and "userId" in prepared:
            # As the SDK does (providers/croct.md: track).
            prepared["externalUserId"] = prepared.pop("userId")
        violations = [f"{v.path}: {v.reason}" for v in payloads.track_payload_violations(prepared)]
        url = str(options.get("url") or "").strip()
        if not url and prepared.get("type") == "pageOpened":
            # The opened page is the page the event happened on.
            url = str(prepared.get("url") or "").strip()
        if not url:
            violations.append(f"url: {URL_REQUIRED}")
        elif not url.startswith(("http://", "https://")):
            violations.append(f"url: {URL_REQUIRED} (an http:// or https:// address)")
        if violations:
            raise InvalidEvent(violations)
        client_id = options.get("client_id") or str(uuid.uuid4())
        payloads.validate_client_id(client_id, "client_id")
        now_ms = int(now.timestamp() * 1000)
        event = TrackEvent(
            payload=prepared,
            url=url,
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

    def send_batch(self, client: Any, events: Sequence[Any]) -> list[EventOutcome]:
        if len(events) != 1:
            raise ValueError("Croct's track takes one event per request")
        (event,) = events
        track = track_event(json.loads(event.body), event.envelope)
        try:
            client.track(track)
        except (ProviderError, PayloadError) as error:
            return [EventOutcome.failed(event, self.problem_of(error))]
        return [EventOutcome.accepted(event)]


def track_event(body: dict[str, Any], envelope: dict[str, Any]) -> TrackEvent:
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

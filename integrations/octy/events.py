"""Octy's events: up to 500 per batch, with a failure per event
(providers/octy.md: events/create/batch)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from integrations import errors
from integrations.errors import PayloadError, Problem, ProviderError
from integrations.events import EventOutcome, EventsAdapter, InvalidEvent, PreparedEvent
from integrations.http import encode_json
from integrations.octy import payloads
from integrations.octy.payloads import OctyEvent
from integrations.octy.problems import AMBIGUOUS_TITLE, is_held_for_person
from integrations.octy.results import held_outcomes

_FIELDS = {"event_type", "profile_id", "event_properties", "created_at"}


class OctyEvents(EventsAdapter):
    provider = "octy"
    # providers/octy.md: events/create/batch takes at most 500 events.
    max_batch = payloads.MAX_BATCH
    templates = {
        "charged": {
            "event_type": "charged",
            "profile_id": "",
            "event_properties": {"payment_method": "card", "item_id": "item-1"},
        },
        "page_view": {"event_type": "page_view", "profile_id": "", "event_properties": {}},
    }
    payload_help = "the event object"
    # providers/octy.md: errors — a 500 after a write is ambiguous and Octy keeps no
    # duplicate check, so such an event is held for a person, never resent by itself.
    held_note = (
        "Octy may or may not have recorded this event (it answered 500 after the write "
        "and keeps no duplicate check): check in Octy, then replay or discard"
    )

    def build(
        self, payload: dict[str, Any], event_type: str, options: dict[str, Any], now: datetime
    ) -> PreparedEvent:
        if event_type and not payload.get("event_type"):
            payload = {"event_type": event_type, **payload}
        elif event_type and payload.get("event_type") != event_type:
            raise InvalidEvent(
                [
                    f"event_type: is {payload.get('event_type')!r} but the event type is "
                    f"{event_type!r}"
                ]
            )
        unknown = set(payload) - _FIELDS
        if unknown:
            raise InvalidEvent(
                [f"{key}: is not a field of an Octy event" for key in sorted(unknown)]
            )
        event = OctyEvent(
            event_type=payload.get("event_type"),
            profile_id=payload.get("profile_id"),
            event_properties=payload.get("event_properties") or {},
            created_at=payload.get("created_at") or now.replace(tzinfo=None),
        )
        built = payloads.event_body(event)
        body = encode_json(built)
        return PreparedEvent(
            event_type=built["event_type"],
            body=body.decode("utf-8"),
            size_bytes=len(body),
            idempotency_key=uuid.uuid4().hex,
            user_id=built["profile_id"],
            identifiers={"profile_id": built["profile_id"]},
        )

    def send_batch(self, client: Any, events: Sequence[Any]) -> list[EventOutcome]:
        octy_events = [octy_event(json.loads(e.body)) for e in events]
        try:
            result = client.create_events(octy_events)
        except (ProviderError, PayloadError) as error:
            problem = self.problem_of(error)
            if is_held_for_person(problem):
                # The write may have been applied: every event of it waits for a person.
                return [
                    EventOutcome.held(events[o.index], problem)
                    for o in held_outcomes(len(events), problem)
                ]
            placed = {d.get("index"): d for d in problem.details if isinstance(d, dict)}
            if problem.retryable or not placed:
                return self.all_failed(events, problem)
            # Octy answered 400 with every event's failure: each keeps its own message.
            return [
                EventOutcome.failed(
                    event,
                    not_created(
                        problem, (placed.get(i) or {}).get("error_message") or problem.detail
                    ),
                )
                for i, event in enumerate(events)
            ]
        outcomes = []
        unmatched: Problem | None = None
        for outcome in result.outcomes:
            event = events[outcome.index]
            if outcome.status == "created":
                # A "Created" answer without a result list has no event id: still created.
                outcomes.append(EventOutcome.accepted(event, outcome.event_id or ""))
            elif outcome.hold_for_person:
                # One Problem for the batch, so the held events are recorded together.
                unmatched = unmatched or held_problem(outcome.advice or outcome.error_message)
                outcomes.append(EventOutcome.held(event, unmatched))
            else:
                detail = outcome.error_message or "Octy did not create this event"
                outcomes.append(EventOutcome.failed(event, not_created(None, detail)))
        return outcomes


def held_problem(detail: str) -> Problem:
    """An event Octy's answer leaves unsettled: a person checks in Octy."""
    return Problem.build(
        "octy",
        errors.AMBIGUOUS,
        title=AMBIGUOUS_TITLE,
        detail=detail,
        docs_url="https://octy.ai/docs/events",
        retryable=False,
        details=[{"hold_for_person": True, "advice": detail}],
    )


def not_created(problem: Problem | None, detail: str) -> Problem:
    """One event Octy did not create; never retried (the same bytes would fail again)."""
    return Problem.build(
        "octy",
        errors.INVALID_REQUEST,
        status=problem.status if problem else None,
        title="Event not created",
        detail=detail,
        docs_url="https://octy.ai/docs/events",
        retryable=False,
    )


def octy_event(body: dict[str, Any]) -> OctyEvent:
    """The stored event body as the client's OctyEvent."""
    return OctyEvent(
        event_type=body["event_type"],
        profile_id=body["profile_id"],
        event_properties=body.get("event_properties") or {},
        created_at=body.get("created_at"),
    )

"""Delivering queued events: batching, per-event outcomes, call links."""

from __future__ import annotations

import json

import pytest

from dashboard.calls.models import ApiCall
from dashboard.events.dispatch import events_dispatch
from dashboard.events.models import AttemptOutcome, EventStatus, OutboundEvent
from dashboard.events.outbox import event_queue
from dashboard.events.preparing import EventRefused
from integrations.commanders_act.payloads import BATCH_LIMIT_BYTES, EVENT_LIMIT_BYTES
from integrations.http import encode_json
from tests.conftest import flush_call_log
from tests.events.conftest import ca_event

pytestmark = pytest.mark.django_db


def padded_event(size: int) -> dict:
    """A Commanders Act event whose encoded body is exactly ``size`` bytes once filled."""
    event = ca_event(pad="")
    event["context"]["event_timestamp"] = 1_700_000_000_000
    missing = size - len(encode_json(event))
    event["pad"] = "x" * missing
    assert len(encode_json(event)) == size
    return event


def test_it_delivers_a_queued_event_and_links_the_call(ca_account, ca_sandbox):
    event = event_queue(account=ca_account, payload=ca_event(), dispatch=False)
    assert event.status == EventStatus.QUEUED
    report = events_dispatch()
    event.refresh_from_db()
    assert report.delivered == 1
    assert event.status == EventStatus.DELIVERED
    assert ca_sandbox.delivery_count(event.idempotency_key) == 1
    attempt = event.attempts.get()
    assert attempt.outcome == AttemptOutcome.DELIVERED
    flush_call_log()
    call = ApiCall.objects.get(exchange_id=attempt.exchange_id)
    assert call.subject_type == "event"
    assert call.subject_id == str(event.pk)
    assert call.operation == "commanders_act.event"


def test_an_event_of_exactly_32_kb_is_queued_and_delivered(ca_account, ca_sandbox):
    event = event_queue(account=ca_account, payload=padded_event(EVENT_LIMIT_BYTES), dispatch=False)
    assert event.size_bytes == EVENT_LIMIT_BYTES
    events_dispatch()
    event.refresh_from_db()
    assert event.status == EventStatus.DELIVERED
    assert ca_sandbox.delivery_count(event.idempotency_key) == 1


def test_one_byte_more_is_refused_before_queueing(ca_account):
    with pytest.raises(EventRefused) as caught:
        event_queue(account=ca_account, payload=padded_event(EVENT_LIMIT_BYTES + 1))
    assert "32 KB" in str(caught.value)
    assert not OutboundEvent.objects.exists()


def test_a_backlog_over_500_kb_is_split_into_batches_that_fit(ca_account, ca_sandbox):
    # 20 events of 30 KB: 600 KB, so two batch requests, each under 500 KB.
    events = [
        event_queue(account=ca_account, payload=padded_event(30 * 1024), dispatch=False)
        for _ in range(20)
    ]
    report = events_dispatch()
    assert report.delivered == 20
    assert report.requests == 2
    assert ca_sandbox.stats()["batches"] == 2
    assert ca_sandbox.stats()["refused_requests"] == 0
    flush_call_log()
    calls = ApiCall.objects.filter(operation="commanders_act.batch")
    assert all(call.request_bytes <= BATCH_LIMIT_BYTES for call in calls)
    assert sorted(call.request_bytes > 400 * 1024 for call in calls) == [False, True]
    for event in events:
        assert ca_sandbox.delivery_count(event.idempotency_key) == 1


def test_the_body_sent_is_the_body_stored(ca_account, ca_sandbox):
    event = event_queue(account=ca_account, payload=ca_event(currency="EUR"), dispatch=False)
    events_dispatch()
    received = ca_sandbox.recent_events()[-1]["event"]
    assert encode_json(received).decode() == event.body


def test_octy_partial_failures_map_back_to_their_events(octy_account, octy_profile, sandbox):
    good = event_queue(
        account=octy_account,
        payload={"event_type": "page_view", "profile_id": octy_profile, "event_properties": {}},
        dispatch=False,
    )
    unknown_profile = event_queue(
        account=octy_account,
        payload={"event_type": "page_view", "profile_id": "profile_nobody"},
        dispatch=False,
    )
    also_good = event_queue(
        account=octy_account,
        payload={"event_type": "signup", "profile_id": octy_profile},
        dispatch=False,
    )
    report = events_dispatch()
    assert report.requests == 1  # one batch carried all three
    for event in (good, unknown_profile, also_good):
        event.refresh_from_db()
    assert good.status == EventStatus.DELIVERED
    assert good.provider_event_id.startswith("event_")
    assert also_good.status == EventStatus.DELIVERED
    assert unknown_profile.status == EventStatus.FAILED
    assert "Profile not found" in unknown_profile.problem["detail"]
    assert unknown_profile.attempts.get().exchange_id == good.attempts.get().exchange_id


def test_octy_batches_hold_at_most_500_events(octy_account, octy_profile, sandbox):
    for i in range(501):
        event_queue(
            account=octy_account,
            payload={
                "event_type": "page_view",
                "profile_id": octy_profile,
                "event_properties": {"n": str(i)},
            },
            dispatch=False,
        )
    report = events_dispatch()
    assert report.delivered == 501
    assert report.requests == 2


def test_croct_track_events_are_delivered_one_request_each(croct_account, sandbox):
    event = event_queue(
        account=croct_account,
        payload={"goalId": "newsletter-signup"},
        event_type="goalCompleted",
        options={"url": "https://shop.example/newsletter"},
        dispatch=False,
    )
    events_dispatch()
    event.refresh_from_db()
    assert event.status == EventStatus.DELIVERED, event.problem
    body = json.loads(event.body)
    assert body["payload"] == {"type": "goalCompleted", "goalId": "newsletter-signup"}
    assert body["context"]["tabId"]
    assert body["context"]["url"] == "https://shop.example/newsletter"
    assert body["originalTime"]
    flush_call_log()
    call = ApiCall.objects.get(exchange_id=event.attempts.get().exchange_id)
    assert call.operation == "croct.track"


def test_an_invalid_croct_payload_is_refused_with_the_field(croct_account):
    with pytest.raises(EventRefused) as caught:
        event_queue(account=croct_account, payload={"type": "goalCompleted", "goalId": "x"})
    assert "payload.goalId" in str(caught.value)


def test_a_repeated_event_id_is_stored_as_duplicate_and_not_sent(ca_account, ca_sandbox):
    payload = ca_event()
    first = event_queue(account=ca_account, payload=payload, dispatch=False)
    second = event_queue(account=ca_account, payload=payload, dispatch=False)
    events_dispatch()
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == EventStatus.DELIVERED
    assert second.status == EventStatus.DUPLICATE
    assert ca_sandbox.delivery_count(first.idempotency_key) == 1

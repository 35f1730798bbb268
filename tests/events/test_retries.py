"""Every retry path, with the sandbox's fault injection over real HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dashboard.calls.models import ApiCall
from dashboard.events.dispatch import events_dispatch
from dashboard.events.models import AttemptOutcome, EventStatus, OutboundEvent
from dashboard.events.outbox import event_queue
from integrations.sandbox import Fault
from tests.conftest import flush_call_log
from tests.events.conftest import ca_event

pytestmark = pytest.mark.django_db


def make_due(event):
    OutboundEvent.objects.filter(pk=event.pk).update(next_attempt_at=timezone.now())


def calls_for(event):
    flush_call_log()
    ids = event.attempts.exclude(exchange_id="").values_list("exchange_id", flat=True)
    return list(ApiCall.objects.filter(exchange_id__in=ids).order_by("id"))


@pytest.mark.parametrize(
    "fault",
    [
        Fault(kind="status", status=503, count=1),
        Fault(kind="status", status=500, count=1),
        Fault(kind="reset", count=1),
        Fault(kind="malformed", count=1, status=502),
    ],
    ids=["503", "500", "connection-reset", "bad-gateway-body"],
)
def test_a_transient_failure_is_retried_with_the_same_bytes_and_key(
    fault, ca_account, ca_sandbox, fast_retries
):
    if fault.kind == "malformed":
        fault = Fault(kind="status", status=502, count=1)
    ca_sandbox.faults.add(fault)
    event = event_queue(account=ca_account, payload=ca_event(), dispatch=False)
    report = events_dispatch()
    event.refresh_from_db()
    assert report.retrying == 1
    assert event.status == EventStatus.QUEUED
    assert event.next_attempt_at > event.attempts.get().finished_at - timedelta(seconds=1)
    assert event.problem["retryable"] is True
    assert ca_sandbox.delivery_count(event.idempotency_key) == 0

    make_due(event)
    events_dispatch()
    event.refresh_from_db()
    assert event.status == EventStatus.DELIVERED
    assert [a.outcome for a in event.attempts.all()] == [
        AttemptOutcome.RETRY,
        AttemptOutcome.DELIVERED,
    ]
    assert ca_sandbox.delivery_count(event.idempotency_key) == 1
    first, second = calls_for(event)
    assert first.request_body == second.request_body
    assert first.request_bytes == second.request_bytes == event.size_bytes


def test_a_timeout_is_retried(ca_account, ca_sandbox, settings, fast_retries):
    settings.PROVIDER_READ_TIMEOUT = 0.3
    ca_sandbox.faults.add(Fault(kind="timeout", seconds=1.0, count=1))
    event = event_queue(account=ca_account, payload=ca_event(), dispatch=False)
    events_dispatch()
    event.refresh_from_db()
    assert event.status == EventStatus.QUEUED
    assert event.problem["kind"] == "timeout"
    make_due(event)
    events_dispatch()
    event.refresh_from_db()
    assert event.status == EventStatus.DELIVERED


def test_a_429_waits_at_least_retry_after(ca_account, ca_sandbox, fast_retries):
    ca_sandbox.faults.add(Fault(kind="rate_limit", retry_after=40, count=1))
    event = event_queue(account=ca_account, payload=ca_event(), dispatch=False)
    before = timezone.now()
    events_dispatch()
    event.refresh_from_db()
    assert event.status == EventStatus.QUEUED
    assert event.problem["kind"] == "rate_limited"
    assert event.next_attempt_at >= before + timedelta(seconds=40)
    assert event.next_attempt_at <= timezone.now() + timedelta(seconds=41)


def test_a_huge_retry_after_is_capped(ca_account, ca_sandbox, settings, fast_retries):
    settings.EVENTS_RETRY_AFTER_CAP_SECONDS = 60
    ca_sandbox.faults.add(Fault(kind="rate_limit", retry_after=86400, count=1))
    event = event_queue(account=ca_account, payload=ca_event(), dispatch=False)
    events_dispatch()
    event.refresh_from_db()
    assert event.next_attempt_at <= timezone.now() + timedelta(seconds=61)


def test_backoff_grows_with_each_attempt(ca_account, ca_sandbox, settings):
    settings.EVENTS_RETRY_BASE_SECONDS = 10
    settings.EVENTS_RETRY_MAX_SECONDS = 10_000
    ca_sandbox.faults.add(Fault(kind="status", status=503))
    event = event_queue(account=ca_account, payload=ca_event(), dispatch=False)
    delays = []
    for _ in range(4):
        events_dispatch()
        event.refresh_from_db()
        delays.append((event.next_attempt_at - event.attempts.last().finished_at).total_seconds())
        make_due(event)
    # Full jitter between the base and base * 2^(n-1): the ceilings double.
    assert all(d >= 10 for d in delays)
    assert delays[3] <= 80
    assert max(delays) > 10


def test_retries_stop_at_the_limit_and_the_event_is_dead(
    ca_account, ca_sandbox, settings, fast_retries
):
    settings.EVENTS_MAX_ATTEMPTS = 3
    ca_sandbox.faults.add(Fault(kind="status", status=503))
    event = event_queue(account=ca_account, payload=ca_event(), dispatch=False)
    for _ in range(3):
        events_dispatch()
        make_due(event)
    event.refresh_from_db()
    assert event.status == EventStatus.DEAD
    assert event.attempt_count == 3
    assert [a.outcome for a in event.attempts.all()] == ["retry", "retry", "dead"]
    events_dispatch()
    assert event.attempts.count() == 3  # a dead event is not sent again


def test_a_permanent_failure_fails_at_once(ca_account, ca_sandbox):
    # Commanders Act's only refusal: a bare 400 (too large or invalid JSON).
    ca_sandbox.faults.add(Fault(kind="status", status=400, count=1))
    event = event_queue(account=ca_account, payload=ca_event(), dispatch=False)
    events_dispatch()
    event.refresh_from_db()
    assert event.status == EventStatus.FAILED
    assert event.attempt_count == 1
    assert event.problem["retryable"] is False
    assert event.attempts.get().outcome == AttemptOutcome.FAILED


def test_a_rejected_octy_key_fails_every_event_of_the_batch(octy_account, octy_profile, sandbox):
    sandbox["octy"].app.faults.add(Fault(kind="status", status=401, count=1))
    events = [
        event_queue(
            account=octy_account,
            payload={"event_type": "signup", "profile_id": octy_profile},
            dispatch=False,
        )
        for _ in range(3)
    ]
    events_dispatch()
    assert {OutboundEvent.objects.get(pk=e.pk).status for e in events} == {EventStatus.FAILED}

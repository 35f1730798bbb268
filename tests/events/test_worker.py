"""The dispatcher with a real Celery worker, and a worker lost mid-send."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from dashboard.core.queueing import sweep
from dashboard.events import dispatch, outbox
from dashboard.events.dispatch import events_dispatch
from dashboard.events.models import AttemptOutcome, EventStatus, OutboundEvent
from dashboard.events.outbox import event_queue, events_sweep
from tests.conftest import wait_for
from tests.events.conftest import ca_event


def test_events_queued_in_a_transaction_are_delivered_by_the_worker_after_commit(
    celery_worker, ca_account, ca_sandbox
):
    with transaction.atomic():
        events = [event_queue(account=ca_account, payload=ca_event()) for _ in range(25)]
        # Nothing leaves before the transaction commits.
        assert ca_sandbox.stats()["events"] == 0
    wait_for(
        lambda: OutboundEvent.objects.filter(status=EventStatus.DELIVERED).count() == 25, timeout=30
    )
    for event in events:
        assert ca_sandbox.delivery_count(event.idempotency_key) == 1
    assert ca_sandbox.stats()["duplicate_deliveries"] == 0


def test_a_rolled_back_transaction_sends_nothing(celery_worker, ca_account, ca_sandbox):
    def queue_then_fail():
        with transaction.atomic():
            event_queue(account=ca_account, payload=ca_event())
            raise RuntimeError("the caller failed")

    with pytest.raises(RuntimeError):
        queue_then_fail()
    assert not OutboundEvent.objects.exists()
    assert ca_sandbox.stats()["events"] == 0


@pytest.mark.django_db(transaction=True)
def test_a_worker_lost_mid_send_loses_nothing_and_delivers_nothing_twice(ca_account, ca_sandbox):
    events = [
        event_queue(account=ca_account, payload=ca_event(), dispatch=False) for _ in range(30)
    ]
    # A worker claims the events and dies before it sends: its lease is all that is left.
    token, claimed = outbox.claim_due(limit=100)
    assert len(claimed) == 30
    assert set(OutboundEvent.objects.values_list("status", flat=True)) == {EventStatus.SENDING}
    # While the lease holds, no other dispatcher takes them.
    assert events_dispatch().claimed == 0
    OutboundEvent.objects.update(claimed_until=timezone.now() - timedelta(seconds=1))
    # Beat's one sweeper entry (core.sweep) re-queues them through the events sweeper.
    assert sweep()["events.leases"] == 30
    report = events_dispatch()
    assert report.delivered == 30
    # The dead worker's late write (if it ever came back) changes nothing.
    dispatch.finish(
        claimed,
        token,
        [dispatch.Outcome(AttemptOutcome.FAILED, [e.pk for e in claimed], timezone.now())],
    )
    for event in events:
        event.refresh_from_db()
        assert event.status == EventStatus.DELIVERED
        assert [a.outcome for a in event.attempts.all()] == ["lease_expired", "delivered"]
        assert ca_sandbox.delivery_count(event.idempotency_key) == 1
    assert ca_sandbox.stats()["duplicate_deliveries"] == 0


@pytest.mark.django_db(transaction=True)
def test_a_worker_lost_after_the_provider_took_the_batch_resends_under_the_same_key(
    ca_account, ca_sandbox
):
    event = event_queue(account=ca_account, payload=ca_event(), dispatch=False)
    original_finish = dispatch.finish

    def die_before_recording(*args, **kwargs):
        raise SystemExit("worker killed")

    dispatch.finish = die_before_recording
    try:
        with pytest.raises(SystemExit):
            events_dispatch()
    finally:
        dispatch.finish = original_finish
    OutboundEvent.objects.update(claimed_until=timezone.now() - timedelta(seconds=1))
    events_sweep()
    events_dispatch()
    event.refresh_from_db()
    assert event.status == EventStatus.DELIVERED
    # At-least-once: the provider saw it twice, under the one key it dedupes on.
    assert ca_sandbox.delivery_count(event.idempotency_key) == 2
    received = [r["event"] for r in ca_sandbox.recent_events()]
    assert received[0] == received[1]


@pytest.mark.django_db(transaction=True)
def test_a_claim_raced_by_another_dispatcher_takes_nothing_twice(ca_account, monkeypatch):
    """The conditional UPDATE (SQLite path): ids picked as due but taken by another
    dispatcher before the update are not claimed again."""
    from django.db import connection

    monkeypatch.setattr(connection.features, "has_select_for_update_skip_locked", False)
    for _ in range(5):
        event_queue(account=ca_account, payload=ca_event(), dispatch=False)
    real_due = outbox.due_events

    def due_then_raced():
        queryset = real_due()
        ids = list(queryset.values_list("id", flat=True))
        # Another dispatcher claims three of them between our read and our update.
        OutboundEvent.objects.filter(id__in=ids[:3]).update(
            status=EventStatus.SENDING, claim_token="other"
        )
        return OutboundEvent.objects.filter(id__in=ids)

    monkeypatch.setattr(outbox, "due_events", due_then_raced)
    token, claimed = outbox.claim_due(limit=10)
    assert len(claimed) == 2
    assert OutboundEvent.objects.filter(claim_token="other").count() == 3


@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_at_once_never_take_the_same_event(ca_account, ca_sandbox, settings):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("SQLite serializes writers; run with DATABASE_URL=postgres://... for this one")
    settings.EVENTS_CLAIM_SIZE = 20
    events = [
        event_queue(account=ca_account, payload=ca_event(), dispatch=False) for _ in range(200)
    ]
    reports = []

    def run():
        from django.db import connection

        try:
            reports.append(events_dispatch())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sum(r.claimed for r in reports) == 200
    assert OutboundEvent.objects.filter(status=EventStatus.DELIVERED).count() == 200
    assert ca_sandbox.stats()["duplicate_deliveries"] == 0
    assert all(ca_sandbox.delivery_count(e.idempotency_key) == 1 for e in events)

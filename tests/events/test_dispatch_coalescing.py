"""Dispatch requests coalesce (#15 finding 5): however many events are queued, an
account has at most one dispatch message waiting, and no event is left without one.

A burst of 3,600 composer POSTs used to leave 2,979 no-op dispatch messages in front
of every preview. Run on both stacks: ``DATABASE_URL=postgres://…
CELERY_BROKER_URL=redis://… pytest tests/events/test_dispatch_coalescing.py``.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from dashboard.core.queueing import sweep
from dashboard.events import outbox
from dashboard.events.models import DispatchRequest, EventStatus, OutboundEvent
from dashboard.events.outbox import event_queue
from dashboard.events.tasks import dispatch_events
from tests.conftest import make_user, purge_queues, wait_for, worker_thread
from tests.events.conftest import ca_event


def default_queue_length() -> int:
    from amqp.exceptions import ChannelError

    from dashboard.celery import app

    with app.connection_for_read() as conn:
        queue = app.conf.task_default_queue
        try:
            return conn.default_channel.queue_declare(queue=queue, passive=True).message_count
        except ChannelError:  # Redis keeps no empty queue
            return 0


@pytest.fixture
def sent(monkeypatch):
    """Dispatch messages recorded instead of sent: [(account_id, token, options)]. The
    tests run each one themselves, in the order a worker could."""
    messages: list[tuple[int, str, dict]] = []

    def record(task, *args, **options):
        assert task == outbox.DISPATCH_TASK
        messages.append((*args, options))
        return True

    monkeypatch.setattr(outbox, "send_now", record)
    return messages


def queue_one(account) -> OutboundEvent:
    # Committed on its own, as one composer POST is (the request commits, then asks);
    # the tests use transactional_db so that commits, and their callbacks, are real.
    with transaction.atomic():
        return event_queue(account=account, payload=ca_event())


def run(message) -> dict:
    account_id, token, _options = message
    return dispatch_events(account_id, token)


# --- across requests: one message waiting per account ---------------------------------
@pytest.mark.worker
def test_a_burst_of_composer_posts_leaves_one_dispatch_message_per_account(
    transactional_db, demo_account, client_for, settings
):
    # The worker thread's connections must close after each task (see celery_worker).
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0
    shop = demo_account("commanders_act", name="Shop")
    blog = demo_account("commanders_act", name="Blog")
    client = client_for(make_user("marketer", "burst-marketer"))
    purge_queues()

    for account, count in ((shop, 25), (blog, 10)):
        for _ in range(count):
            response = client.post(
                reverse("events:compose"),
                {"account": account.pk, "payload": json.dumps(ca_event()), "action": "send"},
            )
            assert response.status_code == 302

    # 35 events, two accounts: two messages (one each), not 35.
    assert OutboundEvent.objects.filter(status=EventStatus.QUEUED).count() == 35
    assert default_queue_length() == 2
    waiting = dict(DispatchRequest.objects.values_list("account_id", "token"))
    assert set(waiting) == {shop.pk, blog.pk}
    assert all(waiting.values())

    with worker_thread():
        wait_for(
            lambda: OutboundEvent.objects.filter(status=EventStatus.DELIVERED).count() == 35,
            timeout=60,
        )
    assert default_queue_length() == 0
    assert not DispatchRequest.objects.exclude(token="").exists()


def test_requests_while_one_waits_send_nothing_more(transactional_db, ca_account, sent):
    for _ in range(5):
        queue_one(ca_account)

    assert len(sent) == 1
    report = run(sent[0])
    assert report["delivered"] == 5
    assert OutboundEvent.objects.filter(status=EventStatus.DELIVERED).count() == 5


def test_each_account_has_its_own_waiting_message(transactional_db, demo_account, sent):
    shop = demo_account("commanders_act", name="Shop")
    blog = demo_account("commanders_act", name="Blog")
    for account in (shop, blog, shop, blog, shop):
        queue_one(account)

    assert sorted(account_id for account_id, _, _ in sent) == sorted([shop.pk, blog.pk])
    # A dispatcher takes only its own account's events.
    shop_message = next(m for m in sent if m[0] == shop.pk)
    assert run(shop_message)["delivered"] == 3
    assert OutboundEvent.objects.filter(account=blog, status=EventStatus.QUEUED).count() == 2


# --- the race: an event queued while a dispatcher runs --------------------------------
def test_an_event_queued_after_the_dispatchers_last_claim_gets_a_new_message(
    transactional_db, ca_account, sent, monkeypatch
):
    first = queue_one(ca_account)
    real_claim_due = outbox.claim_due
    late: list[OutboundEvent] = []

    def claim_then_race(**kwargs):
        token, claimed = real_claim_due(**kwargs)
        if not claimed and not late:
            # The dispatcher found nothing more and is about to finish: a composer POST
            # commits an event right now.
            late.append(queue_one(ca_account))
        return token, claimed

    monkeypatch.setattr(outbox, "claim_due", claim_then_race)
    run(sent[0])

    first.refresh_from_db()
    assert first.status == EventStatus.DELIVERED
    late[0].refresh_from_db()
    assert late[0].status == EventStatus.QUEUED  # too late for that run...
    assert len(sent) == 2  # ...so it asked for, and got, a message of its own
    run(sent[1])
    late[0].refresh_from_db()
    assert late[0].status == EventStatus.DELIVERED


def test_an_event_queued_as_the_dispatcher_starts_is_taken_by_that_run(
    transactional_db, ca_account, sent, monkeypatch
):
    queue_one(ca_account)
    real_started = outbox.dispatch_started
    early: list[OutboundEvent] = []

    def start_then_race(**kwargs):
        started = real_started(**kwargs)
        early.append(queue_one(ca_account))  # between freeing the request and claiming
        return started

    monkeypatch.setattr(outbox, "dispatch_started", start_then_race)
    assert run(sent[0])["delivered"] == 2
    monkeypatch.setattr(outbox, "dispatch_started", real_started)

    # Its own message was sent too (the request was free); running it changes nothing.
    assert len(sent) == 2
    assert run(sent[1])["claimed"] == 0
    assert OutboundEvent.objects.filter(status=EventStatus.DELIVERED).count() == 2


def test_a_superseded_or_redelivered_message_does_nothing(transactional_db, ca_account, sent):
    queue_one(ca_account)
    assert run(sent[0])["delivered"] == 1
    queue_one(ca_account)

    # The first message delivered again (a worker died before acking it): its token is
    # no longer the waiting one, so it leaves the new event to the new message.
    assert run(sent[0]) == {"claimed": 0, "delivered": 0, "superseded": True}
    assert OutboundEvent.objects.filter(status=EventStatus.QUEUED).count() == 1
    assert run(sent[1])["delivered"] == 1


# --- lost messages and retries ----------------------------------------------------------
def test_a_lost_message_is_replaced_by_the_sweeper_only_once_it_is_overdue(
    transactional_db, ca_account, sent, settings
):
    event = queue_one(ca_account)
    lost = sent.pop()  # the broker lost it

    sweep()
    assert sent == []  # still waiting its turn, perhaps behind a backlog: no duplicate
    later = timezone.now() + timedelta(seconds=settings.QUEUE_RESEND_AFTER_SECONDS + 5)
    with time_machine.travel(later, tick=True):
        sweep()
        assert len(sent) == 1
        assert sent[0][1] != lost[1]
        run(sent[0])
    event.refresh_from_db()
    assert event.status == EventStatus.DELIVERED


def test_a_broker_refusing_the_message_frees_the_request_for_the_next_post(
    transactional_db, ca_account, monkeypatch
):
    calls = []

    def refuse(task, *args, **options):
        calls.append(args)
        return False

    monkeypatch.setattr(outbox, "send_now", refuse)
    queue_one(ca_account)
    queue_one(ca_account)

    assert len(calls) == 2  # each asked: nothing was waiting after the refusal
    assert DispatchRequest.objects.get(account=ca_account).token == ""


def test_a_retry_waits_in_one_delayed_message_that_a_new_post_does_not_wait_for(
    transactional_db, ca_account, ca_sandbox, sent, fast_retries
):
    from integrations.sandbox import Fault

    retried = queue_one(ca_account)
    ca_sandbox.faults.add(Fault(kind="status", status=503, count=1))
    run(sent[0])
    retried.refresh_from_db()
    assert retried.status == EventStatus.QUEUED  # backing off
    delayed = sent[-1]
    assert delayed[2]["countdown"] > 0  # the wake-up for the retry

    # A new event does not wait out the backoff: it asks for a message now...
    fresh = queue_one(ca_account)
    assert len(sent) == 3
    assert sent[-1][2] == {}
    run(sent[-1])
    fresh.refresh_from_db()
    assert fresh.status == EventStatus.DELIVERED
    # ...and that run asks again for when the retry is due, so it is not stranded.
    assert sent[-1][2]["countdown"] > 0
    # The replaced wake-up does nothing when it fires.
    assert run(delayed)["superseded"] is True
    # The wake-up fires once the backoff is over (made due here rather than waited for).
    OutboundEvent.objects.filter(pk=retried.pk).update(next_attempt_at=timezone.now())
    run(sent[-1])
    retried.refresh_from_db()
    assert retried.status == EventStatus.DELIVERED

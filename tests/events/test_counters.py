"""The outbox's hourly counters, latency histogram and event-type list (#17): after a
mix of queued, delivered (batched), failed, retried, dead, swept, held, discarded and
replayed events, the Overview's figures equal a direct count over the events, the
counter tables equal a direct grouping of the events, and the migration's backfill
rebuilds the same rows. Run on SQLite and on PostgreSQL (``DATABASE_URL``)."""

from __future__ import annotations

import importlib
import types
from collections import Counter
from datetime import timedelta
from unittest import mock

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboard.events import counters, outbox, selectors
from dashboard.events.dispatch import events_dispatch
from dashboard.events.models import (
    EventHourCount,
    EventLatencyBucket,
    EventStatus,
    EventType,
    OutboundEvent,
)
from dashboard.events.replay import event_discard, replay_plan, replay_run, replay_start
from integrations.sandbox import Fault
from tests.events.conftest import ca_event
from tests.events.test_held import fail_next_write

pytestmark = pytest.mark.django_db

backfill_migration = importlib.import_module(
    "dashboard.events.migrations.0006_hourly_counters_and_event_types"
)


def queue_at(at, account, payload):
    """Queue an event as the outbox would have at ``at`` (its clock set back)."""
    with mock.patch("dashboard.events.outbox.timezone.now", return_value=at):
        event = outbox.event_queue(account=account, payload=payload, dispatch=False)
    assert event.created_at == at
    return event


def expire_lease(event):
    OutboundEvent.objects.filter(pk=event.pk).update(
        claimed_until=timezone.now() - timedelta(seconds=1)
    )


@pytest.fixture
def mixed_history(ca_account, ca_sandbox, octy_account, octy_profile, sandbox, settings):
    """Events of two accounts created over 30 hours, each through a different path."""
    settings.EVENTS_RETRY_BASE_SECONDS = 30
    settings.EVENTS_RETRY_MAX_SECONDS = 60
    now = timezone.now()
    ago = lambda **delta: now - timedelta(**delta)  # noqa: E731
    # Outside the day: delivered in one batch.
    old = [queue_at(ago(hours=30, minutes=i), ca_account, ca_event()) for i in range(3)]
    assert events_dispatch(event_ids=[e.pk for e in old]).delivered == 3
    # The day's first, partial hour: one delivered, one failed permanently.
    edge_ok = queue_at(ago(hours=23, minutes=30), ca_account, ca_event())
    edge_failed = queue_at(ago(hours=23, minutes=20), ca_account, ca_event())
    events_dispatch(event_ids=[edge_ok.pk])
    ca_sandbox.faults.add(Fault(kind="status", status=400, count=1))
    assert events_dispatch(event_ids=[edge_failed.pk]).failed == 1
    # Whole hours: a batch of four delivered in one request (the batched path).
    batch = [queue_at(ago(hours=5, seconds=i), ca_account, ca_event()) for i in range(4)]
    report = events_dispatch(event_ids=[e.pk for e in batch])
    assert (report.delivered, report.requests) == (4, 1)
    # Retried, then delivered; and one whose retries ran out (dead).
    retried = queue_at(ago(minutes=95), ca_account, ca_event())
    ca_sandbox.faults.add(Fault(kind="status", status=503, count=1))
    assert events_dispatch(event_ids=[retried.pk]).retrying == 1
    exhausted = queue_at(ago(minutes=94), ca_account, ca_event())
    settings.EVENTS_MAX_ATTEMPTS = 1
    ca_sandbox.faults.add(Fault(kind="status", status=503, count=1))
    assert events_dispatch(event_ids=[exhausted.pk]).dead == 1
    settings.EVENTS_MAX_ATTEMPTS = 6
    OutboundEvent.objects.filter(pk=retried.pk).update(next_attempt_at=timezone.now())
    assert events_dispatch(event_ids=[retried.pk]).delivered == 1
    # Failed, then replayed and delivered.
    replayed = queue_at(ago(hours=2), ca_account, ca_event())
    ca_sandbox.faults.add(Fault(kind="status", status=400, count=1))
    assert events_dispatch(event_ids=[replayed.pk]).failed == 1
    replay = replay_start(
        plan=replay_plan(events=OutboundEvent.objects.filter(pk=replayed.pk)), filters={}
    )
    replay_run(replay_id=replay.pk)
    # The last minutes: one left queued, one whose worker was lost (swept, re-queued,
    # delivered), one lost on its last attempt (swept dead).
    queue_at(ago(minutes=10), ca_account, ca_event())
    lost = queue_at(ago(minutes=9), ca_account, ca_event())
    outbox.claim_due(limit=10, event_ids=[lost.pk])
    expire_lease(lost)
    assert outbox.events_sweep() == 1
    assert events_dispatch(event_ids=[lost.pk]).delivered == 1
    lost_dead = queue_at(ago(minutes=8), ca_account, ca_event())
    settings.EVENTS_MAX_ATTEMPTS = 1
    outbox.claim_due(limit=10, event_ids=[lost_dead.pk])
    expire_lease(lost_dead)
    assert outbox.events_sweep() == 1
    settings.EVENTS_MAX_ATTEMPTS = 6
    # A claimed event still being sent (counted as queued).
    sending = queue_at(
        ago(minutes=7),
        ca_account,
        ca_event("purchase", id="o-1", revenue=1, value=1, currency="EUR", items=[]),
    )
    outbox.claim_due(limit=10, event_ids=[sending.pk])
    # Octy: two held (one discarded), one delivered, one duplicate.
    held = []
    for minutes in (180, 179):
        fail_next_write(sandbox)
        event = queue_at(
            ago(minutes=minutes),
            octy_account,
            {"event_type": "signup", "profile_id": octy_profile},
        )
        assert events_dispatch(event_ids=[event.pk]).held == 1
        held.append(event)
    event_discard(event=OutboundEvent.objects.get(pk=held[0].pk))
    delivered = queue_at(
        ago(minutes=3), octy_account, {"event_type": "signup", "profile_id": octy_profile}
    )
    assert events_dispatch(event_ids=[delivered.pk]).delivered == 1
    statuses = Counter(OutboundEvent.objects.values_list("status", flat=True))
    assert statuses == {
        EventStatus.DELIVERED: 3 + 1 + 4 + 1 + 1 + 1 + 1,
        EventStatus.FAILED: 1,
        EventStatus.DEAD: 2,
        EventStatus.QUEUED: 1,
        EventStatus.SENDING: 1,
        EventStatus.HELD: 1,
        EventStatus.DISCARDED: 1,
    }
    return now


def direct_overview(now) -> dict[int, dict]:
    """The figures as the Overview used to compute them: a count over the events."""
    day_ago, hour_ago = now - timedelta(days=1), now - timedelta(hours=1)
    keys = ("queued", "delivered", "failed", "dead")
    rows: dict[int, dict] = {}
    for event in OutboundEvent.objects.filter(created_at__gte=day_ago):
        row = rows.setdefault(
            event.account_id, {"hour": dict.fromkeys(keys, 0), "day": dict.fromkeys(keys, 0)}
        )
        status = counters.counted_status(event.status)
        if status in keys:
            row["day"][status] += 1
            if event.created_at >= hour_ago:
                row["hour"][status] += 1
    # The p95 over the hours the day touches, at the rank the selector documents.
    since = counters.hour_of(day_ago)
    for account_id, row in rows.items():
        latencies = sorted(
            e.delivery_ms
            for e in OutboundEvent.objects.filter(
                account_id=account_id, status=EventStatus.DELIVERED, created_at__gte=since
            )
        )
        row["exact_p95"] = latencies[(95 * (len(latencies) - 1) + 50) // 100] if latencies else None
    return rows


def direct_counter_rows() -> tuple[dict, dict]:
    """Every (account, hour, status) and (account, hour, bucket) count, from the events."""
    by_status: Counter = Counter()
    by_bucket: Counter = Counter()
    for event in OutboundEvent.objects.all():
        hour = counters.hour_of(event.created_at)
        by_status[(event.account_id, hour, counters.counted_status(event.status))] += 1
        if event.status == EventStatus.DELIVERED:
            by_bucket[(event.account_id, hour, counters.latency_bucket(event.delivery_ms))] += 1
    return by_status, by_bucket


def stored_counter_rows() -> tuple[dict, dict]:
    by_status = {
        (r.account_id, r.hour, r.status): r.count for r in EventHourCount.objects.all() if r.count
    }
    by_bucket = {
        (r.account_id, r.hour, r.bucket): r.count
        for r in EventLatencyBucket.objects.all()
        if r.count
    }
    return by_status, by_bucket


def test_the_overview_figures_equal_a_direct_count(mixed_history, ca_account, octy_account):
    now = mixed_history
    expected = direct_overview(now)
    shown = {row["account_id"]: row for row in selectors.delivery_overview(now=now)}
    assert set(shown) == set(expected) == {ca_account.pk, octy_account.pk}
    for account_id, row in shown.items():
        assert row["hour"] == expected[account_id]["hour"]
        assert row["day"] == expected[account_id]["day"]
        exact = expected[account_id]["exact_p95"]
        # The histogram's bucket for the exact value: within ±4.4 % of it.
        assert row["p95_ms"] == pytest.approx(counters.bucket_ms(counters.latency_bucket(exact)))
        assert abs(row["p95_ms"] - exact) <= 0.045 * exact
    ca = shown[ca_account.pk]
    assert ca["day"] == {"queued": 2, "delivered": 8, "failed": 1, "dead": 2}
    assert ca["hour"] == {"queued": 2, "delivered": 1, "failed": 0, "dead": 1}
    assert shown[octy_account.pk]["day"]["delivered"] == 1


@pytest.mark.parametrize("minutes_past", [0, 1, 59])
def test_the_figures_are_exact_wherever_now_falls_in_the_hour(mixed_history, minutes_past):
    """The whole hours come from the counters and the ends from the events: an hour
    boundary moved through the window must not change a figure."""
    base = counters.hour_of(mixed_history) + timedelta(minutes=minutes_past)
    for now in (base, base + timedelta(seconds=1)):
        expected = direct_overview(now)
        shown = {row["account_id"]: row for row in selectors.delivery_overview(now=now)}
        assert set(shown) == set(expected)
        for account_id, row in shown.items():
            assert (row["hour"], row["day"]) == (
                expected[account_id]["hour"],
                expected[account_id]["day"],
            )


def test_the_counter_tables_equal_a_direct_grouping_of_the_events(mixed_history):
    assert stored_counter_rows() == direct_counter_rows()


def test_the_migration_backfill_rebuilds_the_same_rows(mixed_history):
    kept = stored_counter_rows()
    kept_types = set(EventType.objects.values_list("account_id", "event_type"))
    EventHourCount.objects.all().delete()
    EventLatencyBucket.objects.all().delete()
    EventType.objects.all().delete()
    backfill_migration.backfill(apps, types.SimpleNamespace(connection=connection))
    assert stored_counter_rows() == kept
    assert set(EventType.objects.values_list("account_id", "event_type")) == kept_types


def test_event_types_come_from_the_list_not_the_events(mixed_history):
    with CaptureQueriesContext(connection) as ctx:
        listed = selectors.event_types()
    assert listed == sorted(set(OutboundEvent.objects.values_list("event_type", flat=True)))
    assert "purchase" in listed
    assert not [q for q in ctx.captured_queries if "events_outboundevent" in q["sql"]]


def test_a_rolled_back_queue_counts_nothing(ca_account):
    from django.db import transaction

    def queue_then_fail():
        with transaction.atomic():
            outbox.event_queue(account=ca_account, payload=ca_event("view_item"), dispatch=False)
            raise RuntimeError("the caller's transaction fails")

    with pytest.raises(RuntimeError):
        queue_then_fail()
    assert not EventHourCount.objects.exists()
    assert "view_item" not in selectors.event_types()


def test_the_overview_reads_events_only_within_its_time_bounds(mixed_history):
    """What can be asserted without a million rows: every statement that reads the
    events carries a lower bound on ``created_at`` (a day ago or later), and on
    PostgreSQL the planner can answer it from an index on ``created_at`` (with
    sequential scans disabled, so the tiny test table does not make a scan cheapest).
    That the bounded range is small (two hours of events) is the selector's arithmetic,
    covered by the figures tests above; the benchmark measures it at 1M events."""
    with CaptureQueriesContext(connection) as ctx:
        selectors.delivery_overview(now=mixed_history)
    reading_events = [q["sql"] for q in ctx.captured_queries if "events_outboundevent" in q["sql"]]
    assert len(reading_events) == 1
    assert '"events_outboundevent"."created_at" >=' in reading_events[0]
    assert len(ctx.captured_queries) <= 4
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN " + reading_events[0])
            plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "Seq Scan on events_outboundevent" not in plan, plan
        assert "created_at" in plan, plan
        assert "Index" in plan, plan


def test_unbatched_deliveries_recorded_together_move_the_counters(demo_account, ca_sandbox):
    """A paced run records many requests' deliveries in one statement
    (outbox.record_delivered): the Overview's counters and histogram move with them."""
    unbatched = demo_account(
        "commanders_act", "unbatched", settings={"site_id": "1234", "batch_beta": "no"}
    )
    events = [queue_at(timezone.now(), unbatched, ca_event()) for _ in range(6)]
    report = events_dispatch(event_ids=[e.pk for e in events])
    assert (report.delivered, report.requests) == (6, 6)
    assert stored_counter_rows() == direct_counter_rows()
    rows = selectors.delivery_overview(now=timezone.now())
    assert [(r["account_id"], r["day"]["delivered"]) for r in rows] == [(unbatched.pk, 6)]

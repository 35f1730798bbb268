"""The call log and the error buckets by time (#17): daily/monthly partitions on
PostgreSQL, created ahead by the beat, a default partition for anything outside them,
and retention that drops whole days. SQLite keeps one table and deletes rows.

CI runs the suite on PostgreSQL, where every test here exercises the partitions; the
local default (SQLite) runs the same tests against the plain-table path.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from dashboard.calls import partitions
from dashboard.calls.models import ApiCall, ErrorGroup, ErrorGroupBucket
from dashboard.calls.partitions import CALL_LOG, ERROR_BUCKETS
from dashboard.calls.services import calls_partitions_ahead
from dashboard.calls.tasks import create_partitions_ahead, prune_calls
from tests.calls.conftest import octy_problem, record

pytestmark = pytest.mark.django_db

ON_POSTGRES = connection.vendor == "postgresql"


def _call(at: datetime) -> ApiCall:
    return ApiCall.objects.create(
        provider="octy",
        operation="octy.profiles.get",
        method="GET",
        url="http://127.0.0.1:9/v1/partitions",
        started_at=at,
        duration_ms=1.0,
        outcome="ok",
    )


def _partition_of(call: ApiCall) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text FROM calls_apicall WHERE id = %s", [call.pk]
        )
        return cursor.fetchone()[0]


def _day(at: datetime) -> datetime:
    return partitions.period_start(partitions.DAY, at)


def test_the_beat_creates_a_week_of_partitions_ahead(settings):
    settings.CALL_LOG_PARTITIONS_AHEAD_DAYS = 7
    create_partitions_ahead()
    if not ON_POSTGRES:
        assert not partitions.is_partitioned(CALL_LOG)
        assert create_partitions_ahead() == 0
        return
    today = _day(datetime.now(UTC))
    starts = {p.start for p in partitions.partitions(CALL_LOG) if not p.is_default}
    assert {today + timedelta(days=n) for n in range(8)} <= starts
    assert any(p.is_default for p in partitions.partitions(CALL_LOG))
    months = {p.start for p in partitions.partitions(ERROR_BUCKETS) if not p.is_default}
    in_a_week = partitions.period_start(partitions.MONTH, today + timedelta(days=7))
    assert {partitions.period_start(partitions.MONTH, today), in_a_week} <= months
    # Idempotent: a second run has nothing to add.
    assert create_partitions_ahead() == 0


def test_calls_far_in_the_future_or_past_are_stored_in_the_default_partition():
    future = _call(timezone.now() + timedelta(days=400))
    past = _call(timezone.now() - timedelta(days=400))
    today = _call(timezone.now())

    assert set(ApiCall.objects.values_list("pk", flat=True)) == {future.pk, past.pk, today.pk}
    if ON_POSTGRES:
        assert _partition_of(future) == "calls_apicall_default"
        assert _partition_of(past) == "calls_apicall_default"
        assert _partition_of(today) == partitions.partition_name(CALL_LOG, _day(today.started_at))


def test_a_new_partition_takes_over_the_rows_the_default_held_for_its_day():
    day = _day(timezone.now() + timedelta(days=60))
    held = _call(day + timedelta(hours=5))

    calls_partitions_ahead(days_ahead=61)

    assert ApiCall.objects.get(pk=held.pk).started_at == held.started_at
    if ON_POSTGRES:
        assert _partition_of(held) == partitions.partition_name(CALL_LOG, day)


def test_the_prune_drops_exactly_the_days_past_the_retention(settings):
    settings.CALL_LOG_RETENTION_DAYS = 30
    now = timezone.now()
    if ON_POSTGRES:
        partitions.partitions_ensure(CALL_LOG, since=now - timedelta(days=45), through=now)
    calls = {age: _call(now - timedelta(days=age)) for age in range(45)}
    ancient = _call(now - timedelta(days=500))  # in the default partition on PostgreSQL
    cutoff = now - timedelta(days=30)
    if ON_POSTGRES:
        # Whole days go: a call on the cutoff's own day stays until that day has passed.
        gone = {a for a, c in calls.items() if _day(c.started_at) + timedelta(days=1) <= cutoff}
        assert gone == set(range(31, 45))
    else:
        # Rows older than the cutoff (the prune's own "now" is a moment later than
        # this test's, so the call exactly 30 days old goes too).
        gone = {a for a, c in calls.items() if c.started_at <= cutoff}
        assert gone == set(range(30, 45))

    assert prune_calls() == len(gone) + 1

    kept = set(ApiCall.objects.values_list("pk", flat=True))
    assert kept == {call.pk for age, call in calls.items() if age not in gone}
    assert ancient.pk not in kept
    if ON_POSTGRES:
        names = {p.name for p in partitions.partitions(CALL_LOG)}
        for age, call in calls.items():
            name = partitions.partition_name(CALL_LOG, _day(call.started_at))
            assert (name in names) == (age not in gone), name
        assert "calls_apicall_default" in names


def test_error_buckets_are_upserted_into_their_month(settings):
    problem = octy_problem(503, 503, "down")
    record(problem, at=timezone.now(), count=2)
    record(problem, at=timezone.now(), count=1)

    bucket = ErrorGroupBucket.objects.get()
    assert bucket.count == 3
    assert ErrorGroup.objects.get().count == 3
    if ON_POSTGRES:
        with connection.cursor() as cursor:
            cursor.execute("SELECT tableoid::regclass::text FROM calls_errorgroupbucket")
            month = partitions.period_start(partitions.MONTH, bucket.hour)
            assert cursor.fetchone()[0] == partitions.partition_name(ERROR_BUCKETS, month)

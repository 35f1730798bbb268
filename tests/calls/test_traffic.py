"""The call log's traffic counters (#17): what ``calls_write`` adds equals a direct
count of the log, batch after batch, and the Overview's last hour reads only them."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboard.accounts.models import ConnectedAccount
from dashboard.calls import traffic
from dashboard.calls.models import ApiCall, CallLatencyBucket, CallMinute, CallSecond
from dashboard.calls.services import calls_prune, calls_write
from dashboard.core.histogram import bucket_ms, latency_bucket

pytestmark = pytest.mark.django_db


def _accounts() -> list[ConnectedAccount]:
    return [
        ConnectedAccount.objects.create(name=f"Traffic {p}", provider=p)
        for p in ("commanders_act", "octy")
    ]


def _calls(accounts, *, count: int, now: datetime, seed: int) -> list[ApiCall]:
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        acct = rng.choice([*accounts, None])
        provider = acct.provider if acct else "croct"
        outcome = rng.choice(["ok", "ok", "ok", "failed", "suspended"])
        limited = outcome == "failed" and rng.random() < 0.5
        kind = "rate_limited" if limited else ("unavailable" if outcome == "failed" else "")
        rows.append(
            ApiCall(
                account=acct,
                provider=provider,
                operation=f"{provider}.op",
                method="POST",
                url="http://127.0.0.1:9/x",
                started_at=now - timedelta(seconds=rng.uniform(0, 5400)),
                duration_ms=rng.lognormvariate(3, 1.2),
                outcome=outcome,
                status=429 if limited else 200,
                problem_kind=kind,
            )
        )
    return rows


def _direct(since: datetime) -> dict[tuple, dict]:
    """The figures counted straight from the log."""
    figures: dict[tuple, dict] = defaultdict(
        lambda: {"calls": 0, "failed": 0, "suspended": 0, "limited": 0, "durations": []}
    )
    for call in ApiCall.objects.filter(started_at__gte=traffic.minute_of(since)):
        row = figures[(call.account_id, call.provider)]
        row["calls"] += 1
        row["failed"] += call.outcome == "failed"
        row["suspended"] += call.outcome == "suspended"
        row["limited"] += call.problem_kind == "rate_limited"
    return figures


def test_the_counters_equal_the_log_batch_after_batch():
    accounts = _accounts()
    now = timezone.now()
    for seed in range(3):  # batches that land in the same minutes add up
        calls_write(_calls(accounts, count=400, now=now, seed=seed))
    since = now - timedelta(hours=1)

    rows = {(r["account_id"], r["provider"]): r for r in traffic.traffic_since(since=since)}
    expected = _direct(since)
    assert set(rows) == set(expected)
    for key, figures in expected.items():
        for name in ("calls", "failed", "suspended", "limited"):
            assert rows[key][name] == figures[name], (key, name)
    # The p95 per account, from the ten-minute histogram that holds since: the middle
    # of the bucket of the exact p95 of those calls.
    slot = traffic.latency_slot_of(since)
    for acct in accounts:
        durations = sorted(
            ApiCall.objects.filter(account=acct, started_at__gte=slot).values_list(
                "duration_ms", flat=True
            )
        )
        exact = durations[(95 * (len(durations) - 1) + 50) // 100]
        assert rows[(acct.pk, acct.provider)]["p95_ms"] == pytest.approx(
            bucket_ms(latency_bucket(exact))
        )
    assert rows[(None, "croct")]["p95_ms"] is None


def test_the_busiest_second_and_minute_are_the_logs():
    accounts = _accounts()
    now = timezone.now()
    calls_write(_calls(accounts, count=600, now=now, seed=7))
    burst = now.replace(microsecond=0) - timedelta(minutes=3)
    calls_write(
        [
            ApiCall(
                account=accounts[0],
                provider="commanders_act",
                operation="ca.op",
                method="POST",
                url="http://127.0.0.1:9/x",
                started_at=burst + timedelta(microseconds=i),
                duration_ms=2.0,
                outcome="ok",
            )
            for i in range(40)
        ]
    )
    since = now - timedelta(hours=1)
    peaks = traffic.busiest_windows(
        since=since, seconds={"commanders_act": 1, "octy": 60, "altcraft": 1}
    )

    def peak(provider, unit):
        started = ApiCall.objects.filter(
            provider=provider, started_at__gte=traffic.minute_of(since)
        ).values_list("started_at", flat=True)
        return max(Counter(int(at.timestamp()) // unit for at in started).values(), default=0)

    assert peaks == {
        "commanders_act": peak("commanders_act", 1),
        "octy": peak("octy", 60),
        "altcraft": 0,
    }
    assert peaks["commanders_act"] >= 40


def test_the_last_hour_reads_the_counters_not_the_log():
    accounts = _accounts()
    calls_write(_calls(accounts, count=50, now=timezone.now(), seed=3))
    since = timezone.now() - timedelta(hours=1)
    with CaptureQueriesContext(connection) as queries:
        traffic.traffic_since(since=since)
        traffic.busiest_windows(since=since, seconds={"commanders_act": 1, "octy": 60})
    assert len(queries) == 4
    assert not [q["sql"] for q in queries if ApiCall._meta.db_table in q["sql"]]


def test_a_rebuild_counts_the_window_again_from_the_log():
    accounts = _accounts()
    now = timezone.now()
    calls_write(_calls(accounts, count=300, now=now, seed=5))
    since = now - timedelta(hours=1)
    before = sorted(traffic.traffic_since(since=since), key=lambda r: str(r))
    CallMinute.objects.update(calls=0)  # counters gone wrong (or never written: COPY)
    CallSecond.objects.all().delete()

    traffic.traffic_rebuild(since=now - timedelta(hours=2))

    assert sorted(traffic.traffic_since(since=since), key=lambda r: str(r)) == before


def test_prune_forgets_counts_past_retention_and_seconds_past_a_day():
    accounts = _accounts()
    now = datetime.now(UTC)
    old = [
        ApiCall(
            account=accounts[0],
            provider="commanders_act",
            operation="ca.op",
            method="POST",
            url="http://127.0.0.1:9/x",
            started_at=now - age,
            duration_ms=5.0,
            outcome="ok",
        )
        for age in (timedelta(days=40), timedelta(days=3), timedelta(minutes=1))
    ]
    calls_write(old)

    calls_prune(older_than_days=30)

    assert CallMinute.objects.count() == 2
    assert CallLatencyBucket.objects.count() == 2
    assert CallSecond.objects.count() == 1
    assert CallSecond.objects.get().second >= now - timedelta(minutes=2)

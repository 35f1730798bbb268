"""The call log's running counts (#17), read by the Overview's last-hour panels.

``calls_write`` adds every batch it inserts to three small tables, in set-based
upserts (``INSERT … ON CONFLICT DO UPDATE SET calls = calls + excluded.calls``, the
same SQL on SQLite and PostgreSQL) right after the insert:

- :class:`CallMinute`: calls, failed, suspended, rate limited per minute, account
  and provider (the Overview's counts: an hour is ≤ 60 rows per account);
- :class:`CallSecond`: calls per second and provider (the busiest second against a
  per-second limit; the busiest minute sums :class:`CallMinute`);
- :class:`CallLatencyBucket`: a duration histogram per ten minutes and account (the
  p95, within ±4.4 % of the exact value, :mod:`dashboard.core.histogram`).

Reading the last hour then costs the same at ten calls an hour as at a million;
ranking the hour's calls by duration, as the Overview did, took 1.3 s once a busy
account had made a hundred thousand of them.

"The last hour" is read from the minute that holds ``now - 1h`` (the p95 from its
ten minutes): up to a minute (ten for the p95) more than an hour, never less.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.db.models import Max, Sum
from django.utils import timezone

from dashboard.calls.groups import adapt_datetime, upsert_rows
from dashboard.calls.models import (
    ApiCall,
    CallLatencyBucket,
    CallMinute,
    CallSecond,
    Outcome,
)
from dashboard.core import histogram
from integrations import errors

LATENCY_SLOT_MINUTES = 10
# The per-second counts serve only the last hour; a day is kept for a late batch.
SECONDS_KEPT = timedelta(days=1)


def minute_of(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(second=0, microsecond=0)


def latency_slot_of(at: datetime) -> datetime:
    minute = minute_of(at)
    return minute.replace(minute=minute.minute - minute.minute % LATENCY_SLOT_MINUTES)


def count_calls(calls: Iterable[ApiCall]) -> None:
    """Add ``calls`` to the three counters: three statements (in chunks), keys in
    sorted order so that two writers lock the rows they share in the same order."""
    minutes: dict[tuple, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    seconds: dict[tuple, int] = defaultdict(int)
    latencies: dict[tuple, int] = defaultdict(int)
    for call in calls:
        account_key = call.account_id or 0
        at = call.started_at.astimezone(UTC)
        figures = minutes[(minute_of(at), account_key, call.provider)]
        figures[0] += 1
        figures[1] += call.outcome == Outcome.FAILED
        figures[2] += call.outcome == Outcome.SUSPENDED
        figures[3] += call.problem_kind == errors.RATE_LIMITED
        seconds[(at.replace(microsecond=0), call.provider)] += 1
        latencies[
            (latency_slot_of(at), account_key, histogram.latency_bucket(call.duration_ms or 0))
        ] += 1
    upsert_rows(
        CallMinute,
        ("minute", "account_key", "provider", "calls", "failed", "suspended", "limited"),
        [(adapt_datetime(k[0]), *k[1:], *v) for k, v in sorted(minutes.items())],
        conflict=("minute", "account_key", "provider"),
        update="calls = t.calls + excluded.calls, failed = t.failed + excluded.failed, "
        "suspended = t.suspended + excluded.suspended, limited = t.limited + excluded.limited",
    )
    upsert_rows(
        CallSecond,
        ("second", "provider", "calls"),
        [(adapt_datetime(k[0]), k[1], n) for k, n in sorted(seconds.items())],
        conflict=("second", "provider"),
        update="calls = t.calls + excluded.calls",
    )
    upsert_rows(
        CallLatencyBucket,
        ("slot", "account_key", "bucket", "count"),
        [(adapt_datetime(k[0]), *k[1:], n) for k, n in sorted(latencies.items())],
        conflict=("slot", "account_key", "bucket"),
        update="count = t.count + excluded.count",
    )


def traffic_since(*, since: datetime) -> list[dict]:
    """The calls since ``since``'s minute (the Overview's last hour), from the
    counters: per account and provider, ``calls``, ``failed``, ``suspended``,
    ``limited`` (rate-limited answers) and the account's ``p95_ms`` duration (None
    for calls with no account). Sums over the rows give the per-provider and overall
    figures. Two statements, each bounded by the window's counter rows."""
    rows = (
        CallMinute.objects.filter(minute__gte=minute_of(since))
        .order_by()
        .values("account_key", "provider")
        .annotate(n=Sum("calls"), f=Sum("failed"), s=Sum("suspended"), limited_n=Sum("limited"))
    )
    p95 = histogram.p95_by_key(
        table=CallLatencyBucket._meta.db_table,
        key="account_key",
        time_column="slot",
        since=latency_slot_of(since),
    )
    return [
        {
            "account_id": row["account_key"] or None,
            "provider": row["provider"],
            "calls": row["n"],
            "failed": row["f"],
            "suspended": row["s"],
            "limited": row["limited_n"],
            "p95_ms": p95.get(row["account_key"]) if row["account_key"] else None,
        }
        for row in rows
    ]


def busiest_windows(*, since: datetime, seconds: dict[str, int]) -> dict[str, int]:
    """Per provider in ``seconds`` (provider -> 1 for a per-second limit, else a
    per-minute one): the most calls in one clock second or minute since ``since``
    (0 when it made none). Two statements at most, over the counters."""
    if not seconds:
        return {}
    by_second = [provider for provider, per in seconds.items() if per == 1]
    by_minute = [provider for provider in seconds if provider not in by_second]
    peaks: dict[str, int] = {}
    if by_second:
        peaks |= dict(
            CallSecond.objects.filter(
                second__gte=since.astimezone(UTC).replace(microsecond=0),
                provider__in=by_second,
            )
            .order_by()
            .values("provider")
            .annotate(peak=Max("calls"))
            .values_list("provider", "peak")
        )
    if by_minute:
        per_minute = (
            CallMinute.objects.filter(minute__gte=minute_of(since), provider__in=by_minute)
            .order_by()
            .values("provider", "minute")
            .annotate(n=Sum("calls"))
        )
        for row in per_minute:
            peaks[row["provider"]] = max(peaks.get(row["provider"], 0), row["n"])
    return {provider: peaks.get(provider, 0) for provider in seconds}


def traffic_prune(*, cutoff: datetime) -> None:
    """Forget counts older than the call log's retention, and per-second counts
    older than a day."""
    CallMinute.objects.filter(minute__lt=cutoff).delete()
    CallLatencyBucket.objects.filter(slot__lt=cutoff).delete()
    CallSecond.objects.filter(second__lt=max(cutoff, timezone.now() - SECONDS_KEPT)).delete()


def traffic_rebuild(*, since: datetime, chunk: int = 20_000) -> None:
    """Count again, from the log, the calls since ``since``'s ten minutes (the
    migration's backfill, and seeders that COPY calls past ``calls_write``): the
    counter rows of that window are replaced."""
    start = latency_slot_of(since)
    CallMinute.objects.filter(minute__gte=start).delete()
    CallSecond.objects.filter(second__gte=start).delete()
    CallLatencyBucket.objects.filter(slot__gte=start).delete()
    columns = ("account_id", "provider", "started_at", "outcome", "problem_kind", "duration_ms")
    batch: list[ApiCall] = []
    for values in (
        ApiCall.objects.filter(started_at__gte=start).values_list(*columns).iterator(chunk)
    ):
        batch.append(ApiCall(**dict(zip(columns, values, strict=True))))
        if len(batch) >= chunk:
            count_calls(batch)
            batch = []
    count_calls(batch)

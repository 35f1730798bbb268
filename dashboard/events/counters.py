"""The outbox's running counts (#17): events per account, UTC hour (of creation) and
status; a histogram of delivery latency per account and hour; the event types each
account has queued.

Every writer of an event's status calls in here in the same statement or transaction
as the change, with set-based upserts (``INSERT … ON CONFLICT DO UPDATE SET count =
count + excluded.count``, on SQLite and PostgreSQL alike), so a batch of a thousand
recorded events is still one statement on PostgreSQL and a few on SQLite.

Latency is kept as a histogram (:mod:`dashboard.core.histogram`) rather than read
back from the events: a percentile over a day is a sum of at most accounts × 25
hours × occupied buckets rows, whatever the traffic.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.db import connection

# The histogram's buckets are shared with the call log's durations (core.histogram);
# the names stay importable from here, where the outbox's writers reach for them.
from dashboard.core.histogram import (  # noqa: F401 - re-exported
    MAX_BUCKET,
    STEPS_PER_DOUBLING,
    bucket_ms,
    latency_bucket,
    latency_bucket_sql,
)
from dashboard.events.models import (
    EventHourCount,
    EventLatencyBucket,
    EventStatus,
    EventType,
)

_CHUNK = 500


def hour_of(at: datetime) -> datetime:
    """The UTC hour ``at`` falls in."""
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def next_hour_boundary(at: datetime) -> datetime:
    """``at`` itself when on the hour, else the start of the next UTC hour."""
    start = hour_of(at)
    return start if start == at else start + timedelta(hours=1)


def counted_status(status: str) -> str:
    """The status an event is counted under: a claim (``sending``) is not a change the
    Overview shows, so a sending event stays counted as queued."""
    return EventStatus.QUEUED if status == EventStatus.SENDING else status


def hour_sql(column: str) -> str:
    """PostgreSQL: the UTC hour of a timestamptz column."""
    return f"date_trunc('hour', {column} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"


def _upsert(model, key: tuple[str, ...], deltas: dict[tuple, int]) -> None:
    """Add ``deltas`` ({key values: n}) to ``model``'s ``count``, creating rows as
    needed; keys are written in sorted order so concurrent writers lock rows in the
    same order (no deadlock between two dispatchers)."""
    rows = sorted((k, n) for k, n in deltas.items() if n)
    if not rows:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    columns = (*key, "count")
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _CHUNK):
            chunk = rows[start : start + _CHUNK]
            values = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(chunk))
            params = []
            for k, n in chunk:
                params += [adapt(v) if isinstance(v, datetime) else v for v in k]
                params.append(n)
            # Names come from the model; values are parameters.
            cursor.execute(
                f"INSERT INTO {table} AS t ({', '.join(columns)}) VALUES {values} "  # noqa: S608
                f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET count = t.count + excluded.count",
                params,
            )


def count_moves(moves: Iterable[tuple[int, datetime, str, str]]) -> None:
    """Apply status changes ``(account_id, created_at, old_status, new_status)``; a
    new event is ``old_status=""``."""
    deltas: dict[tuple, int] = defaultdict(int)
    for account_id, created_at, old, new in moves:
        hour = hour_of(created_at)
        old, new = counted_status(old) if old else "", counted_status(new)
        if old == new:
            continue
        if old:
            deltas[(account_id, hour, old)] -= 1
        deltas[(account_id, hour, new)] += 1
    _upsert(EventHourCount, ("account_id", "hour", "status"), deltas)


def count_deliveries(deliveries: Iterable[tuple[int, datetime, datetime]]) -> None:
    """Add deliveries ``(account_id, created_at, delivered_at)`` to the histogram."""
    deltas: dict[tuple, int] = defaultdict(int)
    for account_id, created_at, delivered_at in deliveries:
        ms = (delivered_at - created_at).total_seconds() * 1000
        deltas[(account_id, hour_of(created_at), latency_bucket(ms))] += 1
    _upsert(EventLatencyBucket, ("account_id", "hour", "bucket"), deltas)


def note_event_type(account_id: int, event_type: str) -> None:
    """Remember that ``account_id`` queued an ``event_type`` (INSERT … ON CONFLICT DO
    NOTHING: one cheap statement whether or not it was known)."""
    if event_type:
        EventType.objects.bulk_create(
            [EventType(account_id=account_id, event_type=event_type[:100])],
            ignore_conflicts=True,
        )


# --- PostgreSQL: the same bookkeeping inside one statement ---------------------------
def moves_cte_sql(held: str, new_status: str) -> tuple[str, list]:
    """A data-modifying CTE (``, counted AS (…)``) moving every row of the CTE
    ``held`` (columns account_id, created_at) from queued to ``new_status``; ``("",
    [])`` when that is no change (a retry goes back to queued)."""
    new_status = counted_status(new_status)
    if new_status == EventStatus.QUEUED:
        return "", []
    table = EventHourCount._meta.db_table
    sql = (
        f", counted AS (INSERT INTO {table} AS t (account_id, hour, status, count) "  # noqa: S608
        f"SELECT h.account_id, {hour_sql('h.created_at')} AS hour, m.status, "
        f"SUM(m.delta) FROM {held} h CROSS JOIN (VALUES (%s, -1), (%s, 1)) AS m(status, delta) "
        "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 "
        "ON CONFLICT (account_id, hour, status) DO UPDATE SET count = t.count + excluded.count)"
    )
    return sql, [str(EventStatus.QUEUED), str(new_status)]


def deliveries_cte_sql(held: str) -> str:
    """A data-modifying CTE (``, timed AS (…)``) adding every row of ``held``
    (account_id, created_at, delivered_at) to the latency histogram."""
    table = EventLatencyBucket._meta.db_table
    ms = "(EXTRACT(EPOCH FROM (h.delivered_at - h.created_at)) * 1000)::double precision"
    return (
        f", timed AS (INSERT INTO {table} AS t (account_id, hour, bucket, count) "  # noqa: S608
        f"SELECT h.account_id, {hour_sql('h.created_at')} AS hour, "
        f"{latency_bucket_sql(ms)} AS bucket, COUNT(*) FROM {held} h "
        "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 "
        "ON CONFLICT (account_id, hour, bucket) DO UPDATE SET count = t.count + excluded.count)"
    )

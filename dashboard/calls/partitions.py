"""Time partitions of the call log and the error-group buckets on PostgreSQL (#17).

A month of a busy account is tens of millions of ApiCall rows. On PostgreSQL the call
log is a declaratively partitioned table (``PARTITION BY RANGE (started_at)``, one
partition per UTC day) and the hourly error-group buckets one per UTC month
(``PARTITION BY RANGE (hour)``), so that:

- retention drops whole days (``DROP TABLE``: milliseconds, no dead rows, no vacuum)
  instead of deleting millions of rows;
- pages that read recent rows only touch the partitions their time range covers.

Each table also has a DEFAULT partition, so an insert whose time has no partition (a
clock far off, a partition the beat has not created yet) is stored rather than
refused. Creating a partition whose range already has rows in the default moves them
first (PostgreSQL refuses to attach a range the default still holds).

The conversion of an existing table is migration ``calls.0003``; the beat creates the
partitions ahead (``calls.partitions_ahead``) and drops the old ones (``calls.prune``).
SQLite keeps one plain table: :func:`is_partitioned` is False there and callers fall
back to row deletes.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import OperationalError, connection, transaction

logger = logging.getLogger(__name__)

DAY = "day"
MONTH = "month"


@dataclass(frozen=True)
class TimeRangedTable:
    table: str
    column: str
    step: str  # DAY or MONTH


CALL_LOG = TimeRangedTable("calls_apicall", "started_at", DAY)
ERROR_BUCKETS = TimeRangedTable("calls_errorgroupbucket", "hour", MONTH)
TABLES = (CALL_LOG, ERROR_BUCKETS)

# A drop waits this long for the table lock (a page's long read holds it), then gives
# up until the next run rather than queueing every insert behind it.
DROP_LOCK_TIMEOUT = "5s"


@dataclass(frozen=True)
class Partition:
    name: str
    start: datetime | None  # None for the default partition
    end: datetime | None

    @property
    def is_default(self) -> bool:
        return self.start is None


def period_start(step: str, at: datetime) -> datetime:
    """The start (UTC) of the day or month ``at`` falls in."""
    at = at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return at.replace(day=1) if step == MONTH else at


def next_period(step: str, start: datetime) -> datetime:
    if step == MONTH:
        return (start.replace(day=1) + timedelta(days=32)).replace(day=1)
    return start + timedelta(days=1)


def partition_name(spec: TimeRangedTable, start: datetime) -> str:
    return f"{spec.table}_{start:%Y%m}" if spec.step == MONTH else f"{spec.table}_{start:%Y%m%d}"


def default_name(spec: TimeRangedTable) -> str:
    return f"{spec.table}_default"


def is_partitioned(spec: TimeRangedTable) -> bool:
    """True on PostgreSQL once migration ``calls.0003`` has converted the table."""
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s)", [spec.table]
        )
        return cursor.fetchone() is not None


_BOUNDS = re.compile(r"FROM \('([^']+)'\) TO \('([^']+)'\)")


def partitions(spec: TimeRangedTable) -> list[Partition]:
    """The table's partitions, oldest first, the default (if any) last."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(%s)",
            [spec.table],
        )
        rows = cursor.fetchall()
    found, default = [], []
    for name, bound in rows:
        match = _BOUNDS.search(bound)
        if match is None:
            default.append(Partition(name, None, None))
            continue
        start, end = (_parse_bound(value) for value in match.groups())
        found.append(Partition(name, start, end))
    return sorted(found, key=lambda p: p.start) + default


def _parse_bound(value: str) -> datetime:
    # pg_get_expr renders timestamptz in the session time zone ("2026-12-01 00:00:00+00").
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def partitions_ensure(
    spec: TimeRangedTable, *, through: datetime, since: datetime | None = None
) -> list[str]:
    """Create every missing partition from ``since`` (default: now) through
    ``through``, and the default partition; returns the names created."""
    existing = partitions(spec)
    starts = {p.start for p in existing if not p.is_default}
    created = []
    if not any(p.is_default for p in existing):
        _execute(
            f"CREATE TABLE IF NOT EXISTS {_q(default_name(spec))} "
            f"PARTITION OF {_q(spec.table)} DEFAULT"
        )
        created.append(default_name(spec))
    start = period_start(spec.step, since or datetime.now(UTC))
    while start <= through:
        end = next_period(spec.step, start)
        if start not in starts:
            _create_partition(spec, start, end)
            created.append(partition_name(spec, start))
        start = end
    return created


def _create_partition(spec: TimeRangedTable, start: datetime, end: datetime) -> None:
    name, table, column = _q(partition_name(spec, start)), _q(spec.table), _q(spec.column)
    bounds = f"FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
    default = _q(default_name(spec))
    in_range = f"{column} >= '{start.isoformat()}' AND {column} < '{end.isoformat()}'"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {default} WHERE {in_range} LIMIT 1")  # noqa: S608
        if cursor.fetchone() is None:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {table} FOR VALUES {bounds}"
            )
            return
        # Rows the default took for this range move into the new table before it is
        # attached; the whole move is one transaction, so no reader sees them twice.
        columns = ", ".join(_q(c) for c in _columns(cursor, spec.table))
        cursor.execute(
            f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
        )
        cursor.execute(
            f"WITH moved AS (DELETE FROM {default} WHERE {in_range} RETURNING {columns}) "  # noqa: S608
            f"INSERT INTO {name} ({columns}) SELECT {columns} FROM moved"
        )
        cursor.execute(f"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES {bounds}")


def _columns(cursor, table: str) -> list[str]:
    cursor.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) "
        "AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
        [table],
    )
    return [row[0] for row in cursor.fetchall()]


def partitions_drop_before(spec: TimeRangedTable, *, cutoff: datetime) -> int:
    """Drop every partition that ends at or before ``cutoff`` and delete the default
    partition's rows older than it; returns how many rows went.

    The partition holding ``cutoff`` itself stays whole, so a row is kept at least the
    retention period and at most one period (a day) longer.
    """
    removed = 0
    for partition in partitions(spec):
        if partition.is_default:
            removed += _delete_old_default_rows(spec, partition, cutoff)
        elif partition.end <= cutoff:
            removed += _drop(partition)
    return removed


def _drop(partition: Partition) -> int:
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = '{DROP_LOCK_TIMEOUT}'")
            # Rows inserted earlier in the same transaction leave deferred foreign-key
            # checks pending, and PostgreSQL refuses to drop a table that has them.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"SELECT count(*) FROM {_q(partition.name)}")  # noqa: S608
            rows = cursor.fetchone()[0]
            cursor.execute(f"DROP TABLE {_q(partition.name)}")
            return rows
    except OperationalError:
        # Most likely the lock timeout: the next prune tries again.
        logger.warning(
            "partition_drop_postponed", extra={"partition": partition.name}, exc_info=True
        )
        return 0


def _delete_old_default_rows(spec: TimeRangedTable, partition: Partition, cutoff) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {_q(partition.name)} WHERE {_q(spec.column)} < %s",  # noqa: S608
            [cutoff],
        )
        return cursor.rowcount


def _execute(sql: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql)


def _q(name: str) -> str:
    return connection.ops.quote_name(name)

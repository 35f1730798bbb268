"""Seeding a month of call log quickly (#17): COPY into one table per day, attached.

Ten million ORM inserts would take the better part of an hour; ``INSERT … SELECT
generate_series`` into the partitioned table maintains eleven indexes row by row.
Here each UTC day is written by psycopg's ``cursor.copy`` into a bare table (no
index), and then attached as that day's partition, so PostgreSQL builds each index
once, sorted, per day. The rows are the same as ``bench_pages`` always seeded: calls
spread evenly over 30 days back from ``t0``, one in three failed, failures spread
over the groups with group 0 the busiest (every 10th failure).
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from django.db import transaction

DAY_US = 86_400_000_000
PROVIDERS = ("croct", "octy", "altcraft", "commanders_act")


def _q(name: str) -> str:
    return '"' + name + '"'


def copy_day(
    cursor,
    *,
    day: datetime,
    t0: datetime,
    step_us: int,
    first_index: int,
    last_index: int,
    accounts: list[int],
    first_group: int,
    groups: int,
    id_offset: int = 1,
) -> int:
    """COPY calls ``first_index..last_index`` (``started_at = t0 - i * step``) into a
    new table and attach it as ``day``'s partition; returns the rows written."""
    from dashboard.calls import partitions

    spec = partitions.CALL_LOG
    name = partitions.partition_name(spec, day)
    end = partitions.next_period(spec.step, day)
    columns = (
        "id, account_id, provider, operation, credential_fingerprint, method, url, "
        "request_headers, request_body, request_bytes, status, response_headers, "
        "response_body, response_bytes, response_truncated, started_at, duration_ms, "
        "outcome, problem_kind, problem_title, problem_type_uri, problem_code, "
        "problem_detail, problem_docs_url, problem_retryable, problem, task_id, "
        "correlation_id, subject_type, subject_id, group_id, exchange_id"
    )
    base_us = int(t0.timestamp() * 1_000_000)
    ok_tail = '\t{}\t{"x": 1}\t8\t200\t{}\t{"ok": true}\t12\tf\t'
    failed_tail = '\t{}\t{"x": 1}\t8\t503\t{}\t{"ok": true}\t12\tf\t'
    fromts = datetime.fromtimestamp
    written = 0
    with (
        _new_table(cursor, name),
        cursor.copy(f"COPY {_q(name)} ({columns}) FROM STDIN WITH (FREEZE)") as copy,
    ):
        lines = []
        for i in range(first_index, last_index + 1):
            at = fromts((base_us - i * step_us) / 1_000_000, UTC).isoformat()
            p = i % 4
            failed = i % 3 == 0
            subject = f"event\t{i // 5}" if i % 5 == 0 else "\t"
            if failed:
                group = first_group + (0 if i % 30 == 0 else (i // 3) % groups)
                lines.append(
                    f"{i + id_offset}\t{accounts[p]}\t{PROVIDERS[p]}\tbench.op{i % 40}\tfp{i % 7}"
                    f"\tPOST\thttp://127.0.0.1:9/bench/{i}{failed_tail}{at}\t{5 + i % 200}"
                    f"\tfailed\tunavailable\tBench problem\t\t503\t\t\tt\t\\N\t\tcorr{i // 3}"
                    f"\t{subject}\t{group}\t\n"
                )
            else:
                lines.append(
                    f"{i + id_offset}\t{accounts[p]}\t{PROVIDERS[p]}\tbench.op{i % 40}\tfp{i % 7}"
                    f"\tPOST\thttp://127.0.0.1:9/bench/{i}{ok_tail}{at}\t{5 + i % 200}"
                    f"\tok\t\t\t\t\t\t\tf\t\\N\t\tcorr{i // 3}\t{subject}\t\\N\t\n"
                )
            if len(lines) >= 20_000:
                copy.write("".join(lines))
                written += len(lines)
                lines = []
        copy.write("".join(lines))
        written += len(lines)
    # Statistics, and the insert count that would wake autovacuum, reset at once.
    cursor.execute(f"VACUUM (ANALYZE) {_q(name)}")
    cursor.execute(
        f"ALTER TABLE calls_apicall ATTACH PARTITION {_q(name)} "
        f"FOR VALUES FROM ('{day.isoformat()}') TO ('{end.isoformat()}')"
    )
    return written


@contextmanager
def _new_table(cursor, name: str):
    """A bare copy of ``calls_apicall`` named ``name``, created in a transaction that
    lasts the block: a COPY inside it can FREEZE, so the rows go in frozen and
    all-visible, as a month-old log is, and no autovacuum pass over ten million fresh
    rows competes with the benchmarks that run after the seeding."""
    with transaction.atomic(using=cursor.db.alias):
        cursor.execute(f"DROP TABLE IF EXISTS {_q(name)}")
        cursor.execute(
            f"CREATE TABLE {_q(name)} (LIKE calls_apicall INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
        )
        yield


def index_range(day: datetime, t0: datetime, step_us: int, total: int) -> tuple[int, int]:
    """The indexes ``i`` whose ``t0 - i * step`` falls in ``day`` (clipped to total)."""
    t0_us = int(t0.timestamp() * 1_000_000)
    lo_us = int(day.timestamp() * 1_000_000)
    hi_us = lo_us + DAY_US
    first = max(0, math.floor((t0_us - hi_us) / step_us) + 1)
    last = min(total - 1, math.floor((t0_us - lo_us) / step_us))
    return first, last


def seed_month(
    cursor, *, total: int, t0: datetime, accounts: list[int], first_group: int, groups: int
) -> int:
    """``total`` calls over the 30 days before ``t0``, one partition per day."""
    from dashboard.calls import partitions

    step_us = 30 * DAY_US // total
    oldest = t0 - timedelta(microseconds=step_us * (total - 1))
    day = partitions.period_start(partitions.DAY, oldest)
    written = 0
    while day <= t0:
        first, last = index_range(day, t0, step_us, total)
        if first <= last:
            written += copy_day(
                cursor,
                day=day,
                t0=t0,
                step_us=step_us,
                first_index=first,
                last_index=last,
                accounts=accounts,
                first_group=first_group,
                groups=groups,
            )
        day += timedelta(days=1)
    # What calls_write keeps beside the rows: the operations the log holds.
    cursor.execute(
        "INSERT INTO calls_calloperation (operation, last_seen) "
        "SELECT 'bench.op' || g, %s FROM generate_series(0, 39) AS g "
        "ON CONFLICT (operation) DO UPDATE SET last_seen = EXCLUDED.last_seen",
        [t0],
    )
    cursor.execute(
        "SELECT setval(pg_get_serial_sequence('calls_apicall', 'id'), "
        "(SELECT coalesce(max(id), 1) FROM calls_apicall))"
    )
    return written

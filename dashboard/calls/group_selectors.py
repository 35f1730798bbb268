"""Reads of the error groups (#8): filtered pages, charts, facets and summaries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection
from django.db.models import (
    BigIntegerField,
    Case,
    CharField,
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from dashboard.calls.models import (
    ApiCall,
    ErrorGroup,
    ErrorGroupAccount,
    ErrorGroupBucket,
    ErrorGroupCredential,
    ErrorGroupNote,
    ErrorGroupSubject,
    GroupState,
    Outcome,
)
from dashboard.calls.selectors import connected_account_model
from dashboard.calls.subjects import subject_url
from dashboard.calls.triage import TriageFilters
from dashboard.core.keyset import decode_keyset, encode_keyset

GROUP_PAGE_SIZE = 25
GROUP_SORTS = {"last_seen": "Last seen", "count": "Most frequent"}
# period -> (span, bucket width), for the Errors page's sparklines and the detail chart.
HOUR = timedelta(hours=1)
PERIODS: dict[str, tuple[timedelta, timedelta]] = {
    "24h": (timedelta(hours=24), timedelta(hours=1)),
    "7d": (timedelta(days=7), timedelta(hours=6)),
    "30d": (timedelta(days=30), timedelta(days=1)),
    "48h": (timedelta(hours=48), timedelta(hours=1)),  # the group page's hourly chart
}
PERIOD_LABELS = {"24h": "Last 24 hours", "7d": "Last 7 days", "30d": "Last 30 days"}
DEFAULT_PERIOD = "24h"


@dataclass(frozen=True)
class GroupFilters:
    provider: str = ""
    account: int | None = None
    operation: str = ""
    state: str = ""
    problem_class: str = ""
    sort: str = "last_seen"
    triage: TriageFilters = TriageFilters()


@dataclass(frozen=True)
class GroupPage:
    rows: list[ErrorGroup]
    next_cursor: str | None


def filtered_groups(filters: GroupFilters) -> QuerySet[ErrorGroup]:
    qs = ErrorGroup.objects.all()
    if filters.provider:
        qs = qs.filter(provider=filters.provider)
    if filters.operation:
        qs = qs.filter(operation=filters.operation)
    if filters.state:
        qs = qs.filter(state=filters.state)
    if filters.problem_class:
        qs = qs.filter(problem_class=filters.problem_class)
    if filters.account:
        qs = qs.filter(
            pk__in=ErrorGroupAccount.objects.filter(account_id=filters.account).values("group_id")
        )
    return filters.triage.apply(qs)


def group_page(
    filters: GroupFilters, *, cursor: str = "", page_size: int = GROUP_PAGE_SIZE
) -> GroupPage:
    """One page of groups by last seen or count, after ``cursor`` (keyset, no OFFSET)."""
    key = "count" if filters.sort == "count" else "last_seen"
    qs = filtered_groups(filters).order_by(f"-{key}", "-id")
    position = decode_keyset(cursor, int if key == "count" else datetime) if cursor else None
    if position is not None:
        value, pk = position
        qs = qs.filter(Q(**{f"{key}__lt": value}) | Q(**{key: value, "id__lt": pk}))
    rows = list(qs[: page_size + 1])
    next_cursor = None
    if len(rows) > page_size:
        rows = rows[:page_size]
        next_cursor = encode_keyset(getattr(rows[-1], key), rows[-1].pk)
    return GroupPage(rows=rows, next_cursor=next_cursor)


def bucket_edges(period: str, *, now: datetime | None = None) -> list[datetime]:
    """The start of every bucket in ``period``, oldest first, the last one holding now."""
    span, step = PERIODS.get(period, PERIODS[DEFAULT_PERIOD])
    now = now or timezone.now()
    end = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if step >= timedelta(days=1):
        end = end.replace(hour=0)
    elif step > timedelta(hours=1):
        end = end.replace(hour=end.hour - end.hour % int(step.total_seconds() // 3600))
    count = int(span / step)
    return [end - step * (count - 1 - i) for i in range(count)]


def group_series(
    group_ids: list[int], period: str, *, now: datetime | None = None
) -> dict[int, list[tuple[datetime, int]]]:
    """Occurrences per bucket of ``period`` for each group (one query)."""
    edges = bucket_edges(period, now=now)
    step = PERIODS.get(period, PERIODS[DEFAULT_PERIOD])[1]
    counts: dict[int, list[int]] = {gid: [0] * len(edges) for gid in group_ids}
    if not group_ids:
        return {}
    in_period = ErrorGroupBucket.objects.filter(
        group_id__in=group_ids, hour__gte=edges[0], hour__lt=edges[-1] + step
    )
    if step == HOUR:
        for gid, hour, count in in_period.values_list("group_id", "hour", "count"):
            counts[gid][int((hour - edges[0]) / step)] += count
    else:
        # Summed in the database per bar: 30 days of a busy group is 720 hourly rows
        # but 30 bars, and reading the rows cost the Errors page more than drawing it.
        bar = Case(
            *(When(hour__lt=edge, then=Value(index)) for index, edge in enumerate(edges[1:])),
            default=Value(len(edges) - 1),
            output_field=IntegerField(),
        )
        rows = (
            in_period.annotate(bar=bar)
            .order_by()
            .values_list("group_id", "bar")
            .annotate(total=Sum("count"))
        )
        for gid, index, total in rows:
            counts[gid][index] += total
    return {gid: list(zip(edges, values, strict=True)) for gid, values in counts.items()}


def group_accounts(group_ids: list[int]) -> dict[int, list[dict]]:
    """The accounts each group happened on, most recent first (one query)."""
    found: dict[int, list[dict]] = {gid: [] for gid in group_ids}
    for row in (
        ErrorGroupAccount.objects.filter(group_id__in=group_ids)
        .order_by("-last_seen")
        .values("group_id", "account_id", "account__name", "count", "first_seen", "last_seen")
    ):
        found[row["group_id"]].append(row)
    return found


def group_facets(group: ErrorGroup) -> dict[str, list[dict]]:
    """Accounts, credential fingerprints, affected subjects and the notes of one group,
    read in a single statement (a UNION ALL): the group page keeps a fixed, small
    number of queries however busy the group is."""
    common = ("kind", "key", "label", "extra", "first", "last", "n")
    text, blank = CharField(), Value("", output_field=CharField())
    accounts = (
        ErrorGroupAccount.objects.filter(group=group)
        .order_by()
        .values_list(
            Value("account", output_field=text),
            Cast("account_id", text),
            "account__name",
            blank,
            "first_seen",
            "last_seen",
            "count",
        )
    )
    credentials = (
        ErrorGroupCredential.objects.filter(group=group)
        .order_by()
        .values_list(
            Value("credential", output_field=text),
            "fingerprint",
            "fingerprint",
            blank,
            "first_seen",
            "last_seen",
            "count",
        )
    )
    subjects = (
        ErrorGroupSubject.objects.filter(group=group)
        .order_by()
        .values_list(
            Value("subject", output_field=text),
            "subject_type",
            "subject_id",
            blank,
            "first_seen",
            "first_seen",
            Value(0, output_field=BigIntegerField()),
        )
    )
    notes = (
        ErrorGroupNote.objects.filter(group=group)
        .order_by()
        .values_list(
            Value("note", output_field=text),
            "action",
            Cast("note", text),
            Coalesce("author__username", blank),
            "created_at",
            "created_at",
            Cast("id", BigIntegerField()),
        )
    )
    facets: dict[str, list[dict]] = {"account": [], "credential": [], "subject": [], "note": []}
    for row in accounts.union(credentials, subjects, notes, all=True):
        entry = dict(zip(common, row, strict=True))
        facets[entry["kind"]].append(entry)
    for entries in facets.values():
        entries.sort(key=lambda e: (e["last"], e["n"]), reverse=True)
    facets["subject"] = [
        {**s, "url": subject_url(s["key"], s["label"])} for s in facets["subject"][:50]
    ]
    facets["note"] = facets["note"][:20]
    return facets


def group_filter_choices() -> tuple[list[dict], list[str]]:
    """The Errors page's account and operation choices, in one statement. The
    operations come by a loose index scan of ``errgroup_operation`` (one probe per
    operation), not a DISTINCT over every group: a busy console has tens of thousands
    of groups and a few dozen operations."""
    groups = connection.ops.quote_name(ErrorGroup._meta.db_table)
    accounts = connection.ops.quote_name(connected_account_model()._meta.db_table)
    sql = (
        "WITH RECURSIVE ops(operation) AS ("  # noqa: S608 - table names from model meta
        f"SELECT MIN(operation) FROM {groups} "
        f"UNION ALL SELECT (SELECT MIN(operation) FROM {groups} WHERE operation > ops.operation) "
        "FROM ops WHERE ops.operation IS NOT NULL) "
        f"SELECT 'account', CAST(id AS TEXT), name FROM {accounts} "
        "UNION ALL SELECT 'operation', operation, '' FROM ops WHERE operation IS NOT NULL"
    )
    found_accounts, found_operations = [], []
    with connection.cursor() as cursor:
        cursor.execute(sql)
        for kind, key, name in cursor.fetchall():
            if kind == "account":
                found_accounts.append({"pk": int(key), "name": name})
            else:
                found_operations.append(key)
    found_accounts.sort(key=lambda a: a["name"])
    return found_accounts, sorted(found_operations)[:200]


OCCURRENCE_COLUMNS = (
    "id",
    "account_id",
    "provider",
    "operation",
    "method",
    "status",
    "started_at",
    "duration_ms",
    "problem_title",
    "problem_detail",
    "credential_fingerprint",
    "correlation_id",
    "task_id",
    "subject_type",
    "subject_id",
    "problem_retryable",
)


# The group page first looks for its latest calls in the day before the group was last
# seen: a busy group has them there, and a window fixed before the query is planned
# lets PostgreSQL plan only the day partitions it covers (#17), not all of them.
OCCURRENCE_WINDOW = timedelta(days=1)


def group_occurrences(group: ErrorGroup, *, limit: int = 15) -> list[dict]:
    """The latest calls of a group, each with what the console did next: the calls of
    the same user action (correlation id) for the same operation that came after it.

    One query for a busy group (its latest calls fall in the window), a second without
    the window for a quiet one."""
    rows = _occurrences(group, limit=limit, since=group.last_seen - OCCURRENCE_WINDOW)
    if len(rows) < limit:
        rows = _occurrences(group, limit=limit, since=None)
    for row in rows:
        row["action"] = console_action(row)
    return rows


def _occurrences(group: ErrorGroup, *, limit: int, since: datetime | None) -> list[dict]:
    window = {} if since is None else {"started_at__gte": since}
    # A later attempt came after a call of the window, so it is in the window too:
    # saying so lets the subqueries be planned over the same partitions.
    same_action = ApiCall.objects.filter(
        correlation_id=OuterRef("correlation_id"),
        operation=OuterRef("operation"),
        started_at__gt=OuterRef("started_at"),
        **window,
    ).exclude(correlation_id="")
    return list(
        ApiCall.objects.filter(group=group, **window)
        .order_by("-started_at", "-id")
        .annotate(
            later_attempts=Subquery(
                same_action.order_by().values("correlation_id").annotate(n=Count("id")).values("n")
            ),
            later_ok=Exists(same_action.filter(outcome=Outcome.OK)),
        )
        .values(*OCCURRENCE_COLUMNS, "later_attempts", "later_ok")[:limit]
    )


def console_action(row: dict) -> str:
    attempts = row.get("later_attempts") or 0
    if row.get("later_ok"):
        return f"Retried; succeeded after {attempts} more attempt{'s' if attempts != 1 else ''}"
    if attempts:
        return f"Retried {attempts} more time{'s' if attempts != 1 else ''}, still failing"
    if row.get("problem_retryable"):
        return "Not retried (yet): the failure is transient"
    return "Gave up: retrying would fail the same way"


def group_chart(group: ErrorGroup, *, bucket: str) -> list[tuple[datetime, int]]:
    """Occurrences of one group per hour (last 48 h) or per day (last 30 days)."""
    period = "48h" if bucket == "hour" else "30d"
    return group_series([group.pk], period).get(group.pk, [])


def groups_summary(*, since: datetime, listed: int = 20) -> dict:
    """Groups first seen, and groups that regressed, since ``since`` (the Overview):
    ``new`` and ``regressed``, the newest ``listed`` of each, and ``new_count`` and
    ``regressed_count``, all of them (counted only when a list is full)."""
    first_seen = ErrorGroup.objects.filter(first_seen__gte=since)
    regressed_since = ErrorGroup.objects.filter(regressed_at__gte=since, state=GroupState.REGRESSED)
    new = list(first_seen.order_by("-first_seen")[:listed])
    regressed = list(regressed_since.order_by("-regressed_at")[:listed])
    return {
        "new": new,
        "regressed": regressed,
        "new_count": len(new) if len(new) < listed else first_seen.count(),
        "regressed_count": len(regressed) if len(regressed) < listed else regressed_since.count(),
    }

"""Reads of the call log: filtered, keyset-paginated lists and summaries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import Count, Q, QuerySet, Sum

from dashboard.calls.models import ApiCall, CallOperation, ErrorGroup, ErrorGroupBucket, Outcome
from dashboard.core.keyset import decode_keyset, encode_keyset

PAGE_SIZE = 50

# Columns a list page needs: the bodies stay in the database until the detail page.
LIST_COLUMNS = (
    "id",
    "account_id",
    "account__name",
    "provider",
    "operation",
    "method",
    "status",
    "outcome",
    "started_at",
    "duration_ms",
    "problem_kind",
    "problem_title",
    "problem_code",
    "credential_fingerprint",
)


@dataclass(frozen=True)
class CallFilters:
    account: int | None = None
    provider: str = ""
    operation: str = ""
    outcome: str = ""
    problem_kind: str = ""
    correlation_id: str = ""
    group: int | None = None


@dataclass(frozen=True)
class CallPage:
    rows: list[dict]
    next_cursor: str | None


def encode_cursor(started_at: datetime, pk: int) -> str:
    return encode_keyset(started_at, pk)


def decode_cursor(cursor: str) -> tuple[datetime, int] | None:
    """The position a cursor names, or None when it is not one of ours."""
    return decode_keyset(cursor, datetime)


def filtered_calls(filters: CallFilters) -> QuerySet[ApiCall]:
    qs = ApiCall.objects.all()
    if filters.account:
        qs = qs.filter(account_id=filters.account)
    if filters.provider:
        qs = qs.filter(provider=filters.provider)
    if filters.operation:
        qs = qs.filter(operation=filters.operation)
    if filters.outcome:
        qs = qs.filter(outcome=filters.outcome)
    if filters.problem_kind:
        qs = qs.filter(problem_kind=filters.problem_kind)
    if filters.correlation_id:
        qs = qs.filter(correlation_id=filters.correlation_id)
    if filters.group:
        qs = qs.filter(group_id=filters.group)
    return qs


def call_page(filters: CallFilters, *, cursor: str = "", page_size: int = PAGE_SIZE) -> CallPage:
    """One page of calls, newest first, after ``cursor`` (keyset: no OFFSET)."""
    qs = filtered_calls(filters).order_by("-started_at", "-id")
    position = decode_cursor(cursor) if cursor else None
    if position is not None:
        started_at, pk = position
        qs = qs.filter(Q(started_at__lt=started_at) | Q(started_at=started_at, id__lt=pk))
    rows = list(qs.values(*LIST_COLUMNS)[: page_size + 1])
    next_cursor = None
    if len(rows) > page_size:
        rows = rows[:page_size]
        last = rows[-1]
        next_cursor = encode_cursor(last["started_at"], last["id"])
    return CallPage(rows=rows, next_cursor=next_cursor)


def related_calls(call: ApiCall, *, limit: int = 20) -> list[dict]:
    """The other calls made for the same user action (same correlation id)."""
    if not call.correlation_id:
        return []
    return list(
        ApiCall.objects.filter(correlation_id=call.correlation_id)
        .exclude(pk=call.pk)
        .values(*LIST_COLUMNS)[:limit]
    )


def operations() -> list[str]:
    """The operations the call log holds (the filter's choices), from the short list
    ``calls_write`` keeps (CallOperation), not from the log's day partitions."""
    return list(
        CallOperation.objects.order_by("operation").values_list("operation", flat=True)[:200]
    )


def connected_account_model():
    """The connected-account model, reached through the call log's foreign key: calls
    names it by model label only and imports no accounts code (accounts -> calls)."""
    return ApiCall._meta.get_field("account").related_model


def account_choices() -> list[dict]:
    """Every connected account as ``{"pk", "name"}``, by name (the filters' choices)."""
    return list(connected_account_model().objects.order_by("name").values("pk", "name"))


# --- read by alerts and /metrics (#18): indexed, bounded by the window, never a scan --
def bucket_counts_since(since: datetime) -> dict[int, int]:
    """Occurrences per group in the hourly buckets from the hour holding ``since`` on
    (the errbucket_hour index; the raw call log is not read)."""
    start = since.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    rows = (
        ErrorGroupBucket.objects.filter(hour__gte=start)
        .values("group_id")
        .annotate(n=Sum("count"))
        .values_list("group_id", "n")
    )
    return dict(rows)


def account_call_counts(*, since: datetime) -> dict[int, tuple[int, int]]:
    """``{account_id: (calls, failed)}`` since ``since``: a range of the apicall_recent
    index, so the cost follows the window's calls, not the log's size."""
    rows = (
        ApiCall.objects.filter(started_at__gte=since, account_id__isnull=False)
        .order_by()
        .values("account_id")
        .annotate(total=Count("id"), failed=Count("id", filter=Q(outcome=Outcome.FAILED)))
    )
    return {r["account_id"]: (r["total"], r["failed"]) for r in rows}


def failed_call_counts(*, since: datetime) -> list[tuple[str, str, int]]:
    """``(provider, problem_kind, n)`` of the calls that failed since ``since`` (a range
    of the apicall_outcome_recent index: the window's failures, not the log)."""
    return list(
        ApiCall.objects.filter(outcome=Outcome.FAILED, started_at__gte=since)
        .order_by()
        .values_list("provider", "problem_kind")
        .annotate(n=Count("id"))
        .order_by("provider", "problem_kind")
    )


def recent_call_durations(*, limit: int) -> list[tuple[str, float]]:
    """``(provider, duration_ms)`` of the newest ``limit`` calls."""
    return list(
        ApiCall.objects.order_by("-started_at", "-id").values_list("provider", "duration_ms")[
            :limit
        ]
    )


def group_state_counts() -> dict[str, int]:
    return dict(
        ErrorGroup.objects.order_by()
        .values("state")
        .annotate(n=Count("id"))
        .values_list("state", "n")
    )

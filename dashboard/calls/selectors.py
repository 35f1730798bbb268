"""Reads of the call log: filtered, keyset-paginated lists and summaries."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q, QuerySet

from dashboard.calls.models import ApiCall, Outcome

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


@dataclass(frozen=True)
class CallPage:
    rows: list[dict]
    next_cursor: str | None


def encode_cursor(started_at: datetime, pk: int) -> str:
    raw = json.dumps([started_at.isoformat(), pk]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int] | None:
    """The position a cursor names, or None when it is not one of ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        started, pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return datetime.fromisoformat(started), int(pk)
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError):
        return None


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


def calls_summary(*, since: datetime) -> dict:
    """Counts per outcome since ``since`` (the Overview's last-hour figures)."""
    counts = ApiCall.objects.filter(started_at__gte=since).aggregate(
        total=Count("id"),
        failed=Count("id", filter=Q(outcome=Outcome.FAILED)),
        suspended=Count("id", filter=Q(outcome=Outcome.SUSPENDED)),
    )
    return counts


def operations() -> list[str]:
    return list(
        ApiCall.objects.order_by("operation").values_list("operation", flat=True).distinct()[:200]
    )

"""Writing the call log."""

from __future__ import annotations

from datetime import datetime, timedelta

from celery import current_task
from django.conf import settings
from django.utils import timezone

from dashboard.calls import partitions, traffic
from dashboard.calls.context import current, note_exchange
from dashboard.calls.groups import adapt_datetime, fold_failures, upsert_rows
from dashboard.calls.models import ApiCall, CallOperation
from dashboard.calls.recorder import writer
from dashboard.core.text import clean_model_texts
from integrations.http import Exchange


def _current_task_id() -> str:
    request = getattr(current_task, "request", None)
    return (getattr(request, "id", None) or "") if current_task else ""


def record_exchange(
    exchange: Exchange, *, account_id: int | None, credential_fingerprint: str = ""
) -> ApiCall:
    """Store one exchange (already redacted by ``integrations.http``) as an ApiCall.

    With the background writer (the default outside tests) the row is saved shortly
    after this returns; ``dashboard.calls.recorder.writer.flush()`` waits for it. Who
    needs to point at the row keeps its ``exchange_id`` (see ``calls.context``).
    """
    call = call_from_exchange(
        exchange, account_id=account_id, credential_fingerprint=credential_fingerprint
    )
    note_exchange(call.exchange_id)
    if settings.CALL_LOG_WRITER == "background":
        writer.submit(call)  # saved a moment later, in a batch (see recorder.py)
    else:
        calls_write([call])
    return call


def calls_write(calls: list[ApiCall]) -> list[ApiCall]:
    """Insert call rows in one statement, note their operations in a second, add
    them to the traffic counters (``traffic``), and fold the failures into error
    groups."""
    ApiCall.objects.bulk_create(calls)
    note_operations(calls)
    traffic.count_calls(calls)
    failures = [call for call in calls if call.is_failure]
    if failures:
        fold_failures(failures)
    return calls


def note_operations(calls: list[ApiCall]) -> None:
    """Upsert each operation of ``calls`` with its latest time (CallOperation): one
    INSERT … ON CONFLICT for the whole batch, in name order so that two writers
    upserting the same operations lock their rows in the same order, and never
    moving a time back (a batch written late holds older calls)."""
    latest: dict[str, datetime] = {}
    for call in calls:
        seen = latest.get(call.operation)
        if seen is None or call.started_at > seen:
            latest[call.operation] = call.started_at
    upsert_rows(
        CallOperation,
        ("operation", "last_seen"),
        [(op, adapt_datetime(at)) for op, at in sorted(latest.items())],
        conflict=("operation",),
        update="last_seen = CASE WHEN excluded.last_seen > t.last_seen "
        "THEN excluded.last_seen ELSE t.last_seen END",
    )


def call_from_exchange(
    exchange: Exchange, *, account_id: int | None, credential_fingerprint: str = ""
) -> ApiCall:
    """The (unsaved) ApiCall row for one exchange."""
    ctx = current()
    problem = exchange.problem
    call = ApiCall(
        account_id=account_id,
        provider=exchange.provider,
        operation=exchange.operation[:80],
        credential_fingerprint=credential_fingerprint,
        method=exchange.method,
        url=exchange.url,
        request_headers=exchange.request_headers,
        request_body=exchange.request_body,
        request_bytes=exchange.request_bytes,
        status=exchange.status,
        response_headers=exchange.response_headers,
        response_body=exchange.response_body,
        response_bytes=exchange.response_bytes,
        response_truncated=exchange.response_truncated,
        started_at=exchange.started_at,
        duration_ms=round(exchange.duration_ms, 3),
        outcome=exchange.outcome,
        problem_kind=problem.kind if problem else "",
        problem_title=(problem.title[:300] if problem else ""),
        problem_type_uri=(problem.type_uri[:300] if problem else ""),
        problem_code=(problem.provider_code[:60] if problem else ""),
        problem_detail=(problem.detail if problem else ""),
        problem_docs_url=(problem.docs_url[:500] if problem else ""),
        problem_retryable=bool(problem and problem.retryable),
        problem=problem.to_dict() if problem else None,
        task_id=_current_task_id(),
        exchange_id=exchange.exchange_id,
        correlation_id=exchange.context.get("correlation_id") or ctx.correlation_id,
        subject_type=exchange.context.get("subject_type") or ctx.subject_type,
        subject_id=str(exchange.context.get("subject_id") or ctx.subject_id),
    )
    # PostgreSQL refuses NUL in text and jsonb; a provider (or a user's input echoed
    # into a request or a subject id) may still send one. Every text column keeps a
    # visible U+FFFD in its place rather than failing to record the call.
    return clean_model_texts(call)


def calls_prune(*, older_than_days: int, batch_size: int = 5000) -> int:
    """Remove raw calls older than the retention period; returns the count.

    On PostgreSQL whole days go (``DROP TABLE`` of each daily partition that ended
    before the cutoff, see :mod:`dashboard.calls.partitions`), so a call is kept at
    least ``older_than_days`` and at most a day longer. Elsewhere rows are deleted in
    batches.
    """
    cutoff = timezone.now() - timedelta(days=older_than_days)
    CallOperation.objects.filter(last_seen__lt=cutoff).delete()
    traffic.traffic_prune(cutoff=cutoff)
    if partitions.is_partitioned(partitions.CALL_LOG):
        return partitions.partitions_drop_before(partitions.CALL_LOG, cutoff=cutoff)
    deleted = 0
    while True:
        ids = list(
            ApiCall.objects.filter(started_at__lt=cutoff).values_list("id", flat=True)[:batch_size]
        )
        if not ids:
            return deleted
        deleted += ApiCall.objects.filter(id__in=ids).delete()[0]


def calls_partitions_ahead(*, days_ahead: int) -> list[str]:
    """Create the call log's and the error buckets' partitions through ``days_ahead``
    days from now (PostgreSQL; nothing elsewhere); returns the names created."""
    through = timezone.now() + timedelta(days=days_ahead)
    created = []
    for spec in partitions.TABLES:
        if partitions.is_partitioned(spec):
            created += partitions.partitions_ensure(spec, through=through)
    return created

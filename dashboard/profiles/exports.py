"""Exporting a provider's data (events, sessions or users of a time window) into a
JSON Lines file under ``PROFILES_EXPORT_DIR``.

An export is a long job (see ``jobs.py``). The cursor and ``bytes_written`` are saved
together after each page, so a resumed export cuts the file back and never writes a
page twice. Pages come from the provider's profiles adapter.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from django.conf import settings
from django.db import transaction

from dashboard.accounts.models import ConnectedAccount
from dashboard.accounts.services import provider_client
from dashboard.calls.context import call_context
from dashboard.core.queueing import enqueue_on_commit
from dashboard.profiles.jobs import (
    CONFIGURATION_ERRORS,
    JobInputError,
    capable_adapter,
    job_cancel,
    job_claim,
    job_finish,
    job_resume,
    next_slice,
    out_of_attempts,
    problem_for,
    slice_deadline,
)
from dashboard.profiles.models import ExportJob, ExportKind, JobStatus
from dashboard.profiles.query import adapter_for
from integrations import errors
from integrations.errors import PayloadError
from integrations.profiles import ExportPage
from integrations.provider import Capability

EXPORT_TASK = "profiles.export"


def export_path(job: ExportJob) -> Path:
    return Path(settings.PROFILES_EXPORT_DIR) / job.file_name


@transaction.atomic
def export_start(
    *,
    account: ConnectedAccount,
    kind: str,
    start_ms: int | None,
    end_ms: int,
    event_types: list[str] | None = None,
    incremental: bool = False,
    actor=None,
) -> ExportJob:
    """Queue an export; incremental starts where the last finished one of the same
    kind (and event types) ended. Raises JobInputError."""
    adapter = capable_adapter(account, Capability.EXPORT)
    if adapter is None:
        raise JobInputError("account", "exports come from accounts that can export data")
    if kind not in ExportKind.values:
        raise JobInputError("kind", f"must be one of {', '.join(ExportKind.values)}")
    try:
        event_types = adapter.clean_export(kind, event_types or [])
    except PayloadError as exc:
        raise JobInputError(exc.field, exc.message) from None
    if incremental:
        last = ExportJob.objects.filter(
            account=account, kind=kind, event_types=event_types, status=JobStatus.DONE
        ).first()
        if last is not None:
            start_ms = last.end_ms
    if start_ms is None:
        raise JobInputError("start", "is required (or choose incremental after a first export)")
    if end_ms <= start_ms:
        raise JobInputError("end", "must be after the start")
    job = ExportJob.objects.create(
        account=account,
        kind=kind,
        event_types=event_types,
        start_ms=start_ms,
        end_ms=end_ms,
        incremental=incremental,
        requested_by=actor,
    )
    job.file_name = adapter.export_file_name.format(kind=kind, pk=job.pk)
    job.save(update_fields=["file_name"])
    enqueue_on_commit(EXPORT_TASK, job.pk)
    return job


def export_cancel(*, job: ExportJob) -> ExportJob:
    return job_cancel(job)


@transaction.atomic
def export_resume(*, job: ExportJob) -> ExportJob:
    return job_resume(job, EXPORT_TASK)


def export_run(
    *, job_id: int, slice_seconds: float | None = None, retrying: bool = False
) -> ExportJob:
    """Write pages to the job's file for a slice of time; one page in memory at a time."""
    claimed = job_claim(ExportJob, job_id, retrying=retrying)
    job = ExportJob.objects.select_related("account").get(pk=job_id)
    if not claimed:
        return job
    if (given_up := out_of_attempts(job)) is not None:
        return given_up
    provider = job.account.provider
    adapter = adapter_for(job.account)
    deadline = slice_deadline(slice_seconds)
    try:
        client = provider_client(job.account)
    except CONFIGURATION_ERRORS as exc:
        return job_finish(job, JobStatus.FAILED, problem_for(provider, exc))
    path = export_path(job)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(exist_ok=True)
    with open(path, "r+b") as out, call_context(subject_type="export", subject_id=job.pk):
        # Anything after the last saved page belongs to a page that was not recorded.
        out.truncate(job.bytes_written)
        out.seek(job.bytes_written)
        while True:
            if ExportJob.objects.filter(pk=job.pk, cancel_requested=True).exists():
                return job_finish(job, JobStatus.CANCELLED)
            cursor = job.cursor or None
            try:
                page = _export_page(client, job, cursor)
            except (errors.ProviderError, *CONFIGURATION_ERRORS) as exc:
                return job_finish(job, JobStatus.FAILED, problem_for(provider, exc))
            if not page.items:
                return job_finish(job, JobStatus.DONE)
            if page.next_cursor is not None and page.next_cursor == cursor:
                problem = errors.Problem.build(
                    provider, errors.MALFORMED_RESPONSE, detail="The export cursor did not advance."
                )
                return job_finish(job, JobStatus.FAILED, problem.to_dict())
            last_time = None
            for item in page.items:
                out.write(json.dumps(item, separators=(",", ":")).encode() + b"\n")
                last_time = adapter.item_time(item) or last_time
            out.flush()
            job.cursor = page.next_cursor or ""
            job.pages_done += 1
            job.items_written += len(page.items)
            job.bytes_written = out.tell()
            if last_time is not None:
                job.last_time_ms = last_time
            job.save(
                update_fields=[
                    "cursor",
                    "pages_done",
                    "items_written",
                    "bytes_written",
                    "last_time_ms",
                    "updated_at",
                ]
            )
            if page.next_cursor is None:
                return job_finish(job, JobStatus.DONE)
            if time.monotonic() > deadline:
                return next_slice(job, EXPORT_TASK)


def _export_page(client, job: ExportJob, cursor: str | None) -> ExportPage:
    return adapter_for(job.account).export_page(
        client,
        kind=job.kind,
        start_ms=job.start_ms,
        end_ms=job.end_ms,
        event_types=job.event_types,
        cursor=cursor,
        page_size=settings.PROFILES_EXPORT_PAGE_SIZE,
    )

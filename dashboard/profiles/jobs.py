"""Long jobs: syncing an account's profiles into the cache, exporting Croct data.

Both run in slices: a task works until ``PROFILES_JOB_SLICE_SECONDS`` have passed,
saves its cursor with the page it just stored (one transaction), and queues the next
slice. A failure keeps the cursor, so "Resume" continues from the last page that was
stored; "Cancel" is a flag the running slice checks before each page.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dashboard.accounts.models import ConnectedAccount
from dashboard.accounts.services import NoActiveCredential, provider_client
from dashboard.calls.context import call_context
from dashboard.core.queueing import enqueue_on_commit
from dashboard.profiles import normalize
from dashboard.profiles.cache import cache_upsert
from dashboard.profiles.models import BackgroundJob, ExportJob, ExportKind, JobStatus, SyncJob
from dashboard.profiles.ratelimit import bucket_for
from integrations import errors

# Consecutive 429s a slice sits out before giving up (the job can be resumed).
MAX_RATE_LIMITED_IN_A_ROW = 5
ACTIVE = (JobStatus.PENDING, JobStatus.RUNNING)


class JobInputError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _problem_for(provider: str, exc: Exception) -> dict[str, Any]:
    if isinstance(exc, errors.ProviderError):
        return exc.problem.to_dict()
    return errors.Problem.build(provider, errors.CONFIGURATION, detail=str(exc)).to_dict()


# --- sync ---------------------------------------------------------------------------

SYNC_PROVIDERS = ("octy", "altcraft")


def clean_sync_filters(provider: str, filters: dict[str, Any]) -> dict[str, Any]:
    """Filters the provider supports (providers/octy.md: rfm, churn_prob, segments)."""
    from integrations.octy import payloads as octy_payloads

    clean = {k: v for k, v in (filters or {}).items() if v not in (None, "", [], ())}
    if not clean:
        return {}
    if provider != "octy":
        raise JobInputError("filters", "only Octy listings can be filtered")
    segments = clean.get("segments") or []
    if isinstance(segments, str):
        segments = [s.strip() for s in segments.split(",") if s.strip()]
    try:
        octy_payloads.profile_filters(clean.get("rfm"), clean.get("churn_prob"), segments)
    except octy_payloads.PayloadError as exc:
        raise JobInputError(exc.field, str(exc)) from None
    out: dict[str, Any] = {}
    if clean.get("rfm"):
        out["rfm"] = clean["rfm"]
    if clean.get("churn_prob"):
        out["churn_prob"] = clean["churn_prob"]
    if segments:
        out["segments"] = segments
    return out


@transaction.atomic
def sync_start(
    *, account: ConnectedAccount, filters: dict[str, Any] | None = None, actor=None
) -> SyncJob:
    """Queue a sync of ``account`` (or return the one already running for it)."""
    if account.provider not in SYNC_PROVIDERS:
        raise JobInputError("account", f"{account.provider_label} profiles cannot be listed")
    filters = clean_sync_filters(account.provider, filters or {})
    running = SyncJob.objects.filter(account=account, status__in=ACTIVE).first()
    if running is not None:
        return running
    last = SyncJob.objects.filter(account=account, status=JobStatus.DONE, filters=filters).first()
    job = SyncJob.objects.create(
        account=account,
        filters=filters,
        cursor="0" if account.provider == "octy" else "",
        expected_total=last.profiles_synced if last else None,
        requested_by=actor,
    )
    _enqueue_sync(job)
    return job


def _enqueue_sync(job: SyncJob) -> None:
    from dashboard.profiles.tasks import run_sync_job

    enqueue_on_commit(run_sync_job, job.pk)


def _job_cancel(job: BackgroundJob) -> BackgroundJob:
    # A queued slice that has not started is cancelled at once; a running one stops
    # before its next page.
    jobs = type(job).objects.filter(pk=job.pk)
    jobs.filter(status=JobStatus.PENDING).update(
        status=JobStatus.CANCELLED, cancel_requested=True, finished_at=timezone.now()
    )
    jobs.filter(status=JobStatus.RUNNING).update(cancel_requested=True)
    job.refresh_from_db()
    return job


def _job_resume(job: BackgroundJob, enqueue) -> BackgroundJob:
    """Queue a failed or cancelled job again from its saved cursor."""
    updated = (
        type(job)
        .objects.filter(pk=job.pk, status__in=(JobStatus.FAILED, JobStatus.CANCELLED))
        .update(status=JobStatus.PENDING, cancel_requested=False, problem=None, finished_at=None)
    )
    job.refresh_from_db()
    if updated:
        enqueue(job)
    return job


def _job_finish(job: BackgroundJob, status: str, problem: dict | None = None) -> BackgroundJob:
    job.status = status
    job.problem = problem
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "problem", "finished_at", "updated_at"])
    return job


def sync_cancel(*, job: SyncJob) -> SyncJob:
    return _job_cancel(job)


@transaction.atomic
def sync_resume(*, job: SyncJob) -> SyncJob:
    """Queue a failed or cancelled sync again from its saved cursor."""
    return _job_resume(job, _enqueue_sync)


def sync_run(*, job_id: int, slice_seconds: float | None = None, reclaim: bool = False) -> SyncJob:
    """Work on one sync for a slice of time; queues the next slice when not finished."""
    # ``reclaim``: the retry of a slice that failed on a database error takes it back.
    claimable = (JobStatus.PENDING, JobStatus.RUNNING) if reclaim else (JobStatus.PENDING,)
    claimed = SyncJob.objects.filter(pk=job_id, status__in=claimable).update(
        status=JobStatus.RUNNING
    )
    job = SyncJob.objects.select_related("account").get(pk=job_id)
    if not claimed:
        return job
    account = job.account
    deadline = time.monotonic() + (
        settings.PROFILES_JOB_SLICE_SECONDS if slice_seconds is None else slice_seconds
    )
    rate = settings.PROFILES_RATE_LIMITS.get(account.provider)
    bucket = bucket_for(account.pk, rate, settings.PROFILES_RATE_BURST)
    try:
        client = provider_client(account)
    except NoActiveCredential as exc:
        return _job_finish(job, JobStatus.FAILED, _problem_for(account.provider, exc))
    limited_in_a_row = 0
    with call_context(subject_type="profile_sync", subject_id=job.pk):
        while True:
            if SyncJob.objects.filter(pk=job.pk, cancel_requested=True).exists():
                return _job_finish(job, JobStatus.CANCELLED)
            if bucket is not None:
                bucket.acquire()
            try:
                profiles, next_cursor = _sync_page(client, account.provider, job)
            except errors.RateLimited as exc:
                # providers/octy.md: 429 — honour Retry-After rather than retry at once.
                limited_in_a_row += 1
                job.rate_limited_waits += 1
                job.save(update_fields=["rate_limited_waits", "updated_at"])
                if limited_in_a_row > MAX_RATE_LIMITED_IN_A_ROW:
                    return _job_finish(job, JobStatus.FAILED, exc.problem.to_dict())
                wait = min(exc.retry_after or 1.0, settings.PROFILES_RETRY_AFTER_MAX)
                if bucket is not None:
                    bucket.pause(wait)
                else:
                    time.sleep(wait)
                continue
            except (errors.ProviderError, ValueError) as exc:
                return _job_finish(job, JobStatus.FAILED, _problem_for(account.provider, exc))
            limited_in_a_row = 0
            with transaction.atomic():
                cache_upsert(account=account, profiles=profiles, fetched_at=timezone.now())
                job.cursor = next_cursor or ""
                job.pages_done += 1 if profiles else 0
                job.profiles_synced += len(profiles)
                job.save(update_fields=["cursor", "pages_done", "profiles_synced", "updated_at"])
            if next_cursor is None:
                return _job_finish(job, JobStatus.DONE)
            if time.monotonic() > deadline:
                # At least one page per slice, so a slice always makes progress.
                job.status = JobStatus.PENDING
                job.save(update_fields=["status", "updated_at"])
                with transaction.atomic():
                    _enqueue_sync(job)
                return job


def _sync_page(client, provider: str, job: SyncJob) -> tuple[list[dict], str | None]:
    """(normalized profiles, cursor of the next page or None at the end)."""
    if provider == "octy":
        # providers/octy.md: pagination — cursor header; the exhausted 400 is the end.
        page = client.profiles_page(job.cursor or "0", **job.filters)
        return [normalize.from_octy(p) for p in page.profiles], page.next_cursor
    # providers/altcraft.md: list — from_id is the last id of the previous page.
    page = client.list_profiles(job.cursor or None, limit=settings.PROFILES_ALTCRAFT_PAGE_SIZE)
    return [normalize.from_altcraft(p) for p in page.profiles], page.next_from_id


# --- export -------------------------------------------------------------------------

TIME_KEYS = ("timestamp", "lastModifiedTime", "closeTime")


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
    from integrations.croct.payloads import TRACK_EVENT_TYPES

    if account.provider != "croct":
        raise JobInputError("account", "exports come from Croct accounts")
    if kind not in ExportKind.values:
        raise JobInputError("kind", f"must be one of {', '.join(ExportKind.values)}")
    event_types = sorted(set(event_types or [])) if kind == ExportKind.EVENTS else []
    unknown = [t for t in event_types if t not in TRACK_EVENT_TYPES]
    if unknown:
        raise JobInputError("event_types", f"unknown event types: {', '.join(unknown)}")
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
    job.file_name = f"croct-{kind}-{job.pk}.jsonl"
    job.save(update_fields=["file_name"])
    _enqueue_export(job)
    return job


def _enqueue_export(job: ExportJob) -> None:
    from dashboard.profiles.tasks import run_export_job

    enqueue_on_commit(run_export_job, job.pk)


def export_cancel(*, job: ExportJob) -> ExportJob:
    return _job_cancel(job)


@transaction.atomic
def export_resume(*, job: ExportJob) -> ExportJob:
    return _job_resume(job, _enqueue_export)


def _item_time(item: dict[str, Any]) -> int | None:
    for key in TIME_KEYS:
        value = item.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    window = item.get("window")
    if isinstance(window, dict) and isinstance(window.get("start"), int):
        return window["start"]
    return None


def export_run(
    *, job_id: int, slice_seconds: float | None = None, reclaim: bool = False
) -> ExportJob:
    """Write pages to the job's file for a slice of time; one page in memory at a time."""
    # ``reclaim``: the retry of a slice that failed on a database error takes it back.
    claimable = (JobStatus.PENDING, JobStatus.RUNNING) if reclaim else (JobStatus.PENDING,)
    claimed = ExportJob.objects.filter(pk=job_id, status__in=claimable).update(
        status=JobStatus.RUNNING
    )
    job = ExportJob.objects.select_related("account").get(pk=job_id)
    if not claimed:
        return job
    deadline = time.monotonic() + (
        settings.PROFILES_JOB_SLICE_SECONDS if slice_seconds is None else slice_seconds
    )
    try:
        client = provider_client(job.account)
    except NoActiveCredential as exc:
        return _job_finish(job, JobStatus.FAILED, _problem_for("croct", exc))
    path = export_path(job)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(exist_ok=True)
    with open(path, "r+b") as out, call_context(subject_type="export", subject_id=job.pk):
        # Anything after the last saved page belongs to a page that was not recorded.
        out.truncate(job.bytes_written)
        out.seek(job.bytes_written)
        while True:
            if ExportJob.objects.filter(pk=job.pk, cancel_requested=True).exists():
                return _job_finish(job, JobStatus.CANCELLED)
            cursor = job.cursor or None
            try:
                page = _export_page(client, job, cursor)
            except (errors.ProviderError, ValueError) as exc:
                return _job_finish(job, JobStatus.FAILED, _problem_for("croct", exc))
            if not page.items:
                return _job_finish(job, JobStatus.DONE)
            if page.next_cursor is not None and page.next_cursor == cursor:
                problem = errors.Problem.build(
                    "croct", errors.MALFORMED_RESPONSE, detail="The export cursor did not advance."
                )
                return _job_finish(job, JobStatus.FAILED, problem.to_dict())
            last_time = None
            for item in page.items:
                out.write(json.dumps(item, separators=(",", ":")).encode() + b"\n")
                last_time = _item_time(item) or last_time
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
                return _job_finish(job, JobStatus.DONE)
            if time.monotonic() > deadline:
                job.status = JobStatus.PENDING
                job.save(update_fields=["status", "updated_at"])
                with transaction.atomic():
                    _enqueue_export(job)
                return job


def _export_page(client, job: ExportJob, cursor: str | None):
    # providers/croct.md: export — keep calling with nextCursor until items is empty.
    size = settings.PROFILES_EXPORT_PAGE_SIZE
    if job.kind == ExportKind.EVENTS:
        return client.export_events(
            job.start_ms, job.end_ms, job.event_types, page_size=size, cursor=cursor
        )
    if job.kind == ExportKind.SESSIONS:
        return client.export_sessions(job.start_ms, job.end_ms, page_size=size, cursor=cursor)
    return client.export_users(job.start_ms, job.end_ms, page_size=size, cursor=cursor)


# --- sweeping -----------------------------------------------------------------------


def sweep_stalled(*, older_than_seconds: float | None = None) -> dict[str, int]:
    """Queue again the work a lost broker message or a killed worker left behind.

    A job still "running" with no progress saved for ``older_than_seconds`` (its worker
    died) goes back to pending; pending jobs and look-up results that old are queued
    again. Claims are conditional, so a message that was only late does no harm.
    """
    from dashboard.profiles.models import LookupResult, ResultStatus
    from dashboard.profiles.tasks import run_export_job, run_lookup_result, run_sync_job

    age = older_than_seconds or settings.PROFILES_STALLED_AFTER_SECONDS
    cutoff = timezone.now() - timedelta(seconds=age)
    counts = {"sync": 0, "export": 0, "lookup": 0}
    for model, task, key in (
        (SyncJob, run_sync_job, "sync"),
        (ExportJob, run_export_job, "export"),
    ):
        model.objects.filter(status=JobStatus.RUNNING, updated_at__lt=cutoff).update(
            status=JobStatus.PENDING
        )
        for pk in model.objects.filter(status=JobStatus.PENDING, updated_at__lt=cutoff).values_list(
            "pk", flat=True
        ):
            task.delay(pk)
            counts[key] += 1
    # A look-up whose worker died mid-call runs again (a look-up only reads).
    LookupResult.objects.filter(
        status=ResultStatus.RUNNING, request__created_at__lt=cutoff, finished_at=None
    ).update(status=ResultStatus.PENDING)
    stalled = LookupResult.objects.filter(
        status=ResultStatus.PENDING, request__created_at__lt=cutoff, finished_at=None
    )
    for pk in stalled.values_list("pk", flat=True)[:500]:
        run_lookup_result.delay(pk)
        counts["lookup"] += 1
    return counts

"""Syncing every profile of one account into the local cache, page by page.

A sync is a long job (see ``jobs.py``): sliced, claimed, resumable from its cursor.
Pages come from the provider's profiles adapter, paced below the provider's rate
limit (``PROFILES_RATE_LIMITS``).
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from dashboard.accounts.models import ConnectedAccount
from dashboard.accounts.services import provider_client
from dashboard.calls.context import call_context
from dashboard.core.queueing import enqueue_on_commit
from dashboard.profiles.cache import cache_upsert
from dashboard.profiles.jobs import (
    ACTIVE,
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
from dashboard.profiles.models import JobStatus, SyncJob
from dashboard.profiles.query import adapter_for
from dashboard.profiles.ratelimit import bucket_for
from integrations import errors
from integrations.errors import PayloadError
from integrations.profiles import ProfilePage, ProfilesAdapter
from integrations.provider import Capability

SYNC_TASK = "profiles.sync"
# Consecutive 429s a slice sits out before giving up (the job can be resumed).
MAX_RATE_LIMITED_IN_A_ROW = 5


def clean_sync_filters(account: ConnectedAccount, filters: dict[str, Any]) -> dict[str, Any]:
    """The listing filters ``account``'s provider supports; raises JobInputError."""
    adapter = capable_adapter(account, Capability.PROFILE_BROWSE)
    if adapter is None:
        raise JobInputError("account", f"{account.provider_label} profiles cannot be listed")
    try:
        return adapter.clean_filters(filters or {})
    except PayloadError as exc:
        raise JobInputError(exc.field, exc.message) from None


@transaction.atomic
def sync_start(
    *, account: ConnectedAccount, filters: dict[str, Any] | None = None, actor=None
) -> SyncJob:
    """Queue a sync of ``account`` (or return the one already running for it)."""
    filters = clean_sync_filters(account, filters or {})
    running = SyncJob.objects.filter(account=account, status__in=ACTIVE).first()
    if running is not None:
        return running
    last = SyncJob.objects.filter(account=account, status=JobStatus.DONE, filters=filters).first()
    job = SyncJob.objects.create(
        account=account,
        filters=filters,
        cursor=adapter_for(account).sync_start_cursor,
        expected_total=last.profiles_synced if last else None,
        requested_by=actor,
    )
    enqueue_on_commit(SYNC_TASK, job.pk)
    return job


def sync_cancel(*, job: SyncJob) -> SyncJob:
    return job_cancel(job)


@transaction.atomic
def sync_resume(*, job: SyncJob) -> SyncJob:
    """Queue a failed or cancelled sync again from its saved cursor."""
    return job_resume(job, SYNC_TASK)


def sync_run(*, job_id: int, slice_seconds: float | None = None, retrying: bool = False) -> SyncJob:
    """Work on one sync for a slice of time; queues the next slice when not finished."""
    claimed = job_claim(SyncJob, job_id, retrying=retrying)
    job = SyncJob.objects.select_related("account").get(pk=job_id)
    if not claimed:
        return job
    if (given_up := out_of_attempts(job)) is not None:
        return given_up
    account = job.account
    adapter = adapter_for(account)
    deadline = slice_deadline(slice_seconds)
    rate = settings.PROFILES_RATE_LIMITS.get(account.provider)
    bucket = bucket_for(account.pk, rate, settings.PROFILES_RATE_BURST)
    try:
        client = provider_client(account)
    except CONFIGURATION_ERRORS as exc:
        return job_finish(job, JobStatus.FAILED, problem_for(account.provider, exc))
    limited_in_a_row = 0
    with call_context(subject_type="profile_sync", subject_id=job.pk):
        while True:
            if SyncJob.objects.filter(pk=job.pk, cancel_requested=True).exists():
                return job_finish(job, JobStatus.CANCELLED)
            if bucket is not None:
                bucket.acquire()
            try:
                page = _sync_page(client, adapter, job)
            except errors.RateLimited as exc:
                # A 429: honour Retry-After rather than retry at once.
                limited_in_a_row += 1
                job.rate_limited_waits += 1
                job.save(update_fields=["rate_limited_waits", "updated_at"])
                if limited_in_a_row > MAX_RATE_LIMITED_IN_A_ROW:
                    return job_finish(job, JobStatus.FAILED, exc.problem.to_dict())
                wait = min(exc.retry_after or 1.0, settings.PROFILES_RETRY_AFTER_MAX)
                if bucket is not None:
                    bucket.pause(wait)
                else:
                    time.sleep(wait)
                continue
            except (errors.ProviderError, *CONFIGURATION_ERRORS) as exc:
                return job_finish(job, JobStatus.FAILED, problem_for(account.provider, exc))
            limited_in_a_row = 0
            profiles, next_cursor = page.profiles, page.next_cursor
            with transaction.atomic():
                cache_upsert(account=account, profiles=profiles, fetched_at=timezone.now())
                job.cursor = next_cursor or ""
                job.pages_done += 1 if profiles else 0
                job.profiles_synced += len(profiles)
                job.save(update_fields=["cursor", "pages_done", "profiles_synced", "updated_at"])
            if next_cursor is None:
                return job_finish(job, JobStatus.DONE)
            if time.monotonic() > deadline:
                # At least one page per slice, so a slice always makes progress.
                return next_slice(job, SYNC_TASK)


def _sync_page(client, adapter: ProfilesAdapter, job: SyncJob) -> ProfilePage:
    """The page at the job's cursor (normalized; ``next_cursor`` None at the end)."""
    return adapter.sync_page(
        client, job.cursor, job.filters, page_size=settings.PROFILES_SYNC_PAGE_SIZE
    )

"""What the long jobs share (``sync.py``: an account's profiles into the cache;
``exports.py``: a provider's data into a file): claiming, slicing, cancel, resume.

Both run in slices: a task works until ``PROFILES_JOB_SLICE_SECONDS`` have passed,
saves its cursor with the page it just stored (one transaction), and queues the next
slice. A failure keeps the cursor, so "Resume" continues from the last page that was
stored; "Cancel" is a flag the running slice checks before each page.

A job is a work row: each slice *claims* it (a conditional UPDATE), the sweeper
*re-queues* one whose worker died, and a slice claimed ``JOB_MAX_ATTEMPTS`` times
without handing over to the next slice is given up (the job can still be resumed).
Provider behaviour comes from the profiles adapters; this module names no provider.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from dashboard.accounts.models import ConnectedAccount
from dashboard.accounts.services import NoActiveCredential
from dashboard.core.queueing import attempts_left, claim, enqueue_on_commit
from dashboard.profiles.models import BackgroundJob, JobStatus
from dashboard.profiles.query import adapter_for
from integrations import errors
from integrations.errors import PayloadError
from integrations.profiles import ProfilesAdapter
from integrations.provider import Capability, SettingsError

# Claims of one slice (a worker dying on it each time) before the job is given up.
JOB_MAX_ATTEMPTS = 5
ACTIVE = (JobStatus.PENDING, JobStatus.RUNNING)
# What a slice may fail on besides the provider: a missing key, bad settings, a value
# the provider's rules refuse.
CONFIGURATION_ERRORS = (NoActiveCredential, SettingsError, PayloadError)


class JobInputError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def problem_for(provider: str, exc: Exception) -> dict[str, Any]:
    if isinstance(exc, errors.ProviderError):
        return exc.problem.to_dict()
    return errors.Problem.build(provider, errors.CONFIGURATION, detail=str(exc)).to_dict()


def capable_adapter(account: ConnectedAccount, capability: Capability) -> ProfilesAdapter | None:
    adapter = adapter_for(account)
    return adapter if adapter is not None and account.provider_class.can(capability) else None


# --- shared by both kinds of job -----------------------------------------------------


def job_claim(model: type[BackgroundJob], job_id: int, *, retrying: bool) -> bool:
    """Claim a queued job for this slice (``retrying``: also the running one this
    task's failed run had claimed). ``False``: another worker has it, or it moved on."""
    claimable = (JobStatus.PENDING, JobStatus.RUNNING) if retrying else (JobStatus.PENDING,)
    return claim(
        model.objects.filter(pk=job_id, status__in=claimable),
        status=JobStatus.RUNNING,
        attempts=F("attempts") + 1,
    )


def out_of_attempts(job: BackgroundJob) -> BackgroundJob | None:
    """The job, given up, when its slice has been claimed too often; else None."""
    if attempts_left(job.attempts - 1, cap=JOB_MAX_ATTEMPTS):
        return None
    detail = f"Gave up after {job.attempts - 1} attempts that each stopped before finishing."
    problem = errors.Problem.build(job.account.provider, errors.UNKNOWN, detail=detail)
    return job_finish(job, JobStatus.FAILED, problem.to_dict())


def next_slice(job: BackgroundJob, task: str) -> BackgroundJob:
    """Queue the next slice: a fresh claim, with a fresh count of attempts."""
    job.status = JobStatus.PENDING
    job.attempts = 0
    job.save(update_fields=["status", "attempts", "updated_at"])
    with transaction.atomic():
        enqueue_on_commit(task, job.pk)
    return job


def job_cancel(job: BackgroundJob) -> BackgroundJob:
    # A queued slice that has not started is cancelled at once; a running one stops
    # before its next page.
    jobs = type(job).objects.filter(pk=job.pk)
    jobs.filter(status=JobStatus.PENDING).update(
        status=JobStatus.CANCELLED, cancel_requested=True, finished_at=timezone.now()
    )
    jobs.filter(status=JobStatus.RUNNING).update(cancel_requested=True)
    job.refresh_from_db()
    return job


def job_resume(job: BackgroundJob, task: str) -> BackgroundJob:
    """Queue a failed or cancelled job again from its saved cursor."""
    resumed = claim(
        type(job).objects.filter(pk=job.pk, status__in=(JobStatus.FAILED, JobStatus.CANCELLED)),
        status=JobStatus.PENDING,
        cancel_requested=False,
        problem=None,
        finished_at=None,
        attempts=0,
    )
    job.refresh_from_db()
    if resumed:
        enqueue_on_commit(task, job.pk)
    return job


def job_finish(job: BackgroundJob, status: str, problem: dict | None = None) -> BackgroundJob:
    job.status = status
    job.problem = problem
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "problem", "finished_at", "updated_at"])
    return job


def slice_deadline(slice_seconds: float | None) -> float:
    seconds = settings.PROFILES_JOB_SLICE_SECONDS if slice_seconds is None else slice_seconds
    return time.monotonic() + seconds

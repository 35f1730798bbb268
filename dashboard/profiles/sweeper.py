"""Re-queueing the profiles work a lost broker message or a killed worker left behind.

Registered with ``core.queueing`` (``profiles.stalled``) from the app's ``ready``, so
it runs on the one ``core.sweep`` beat entry with every other app's sweeper.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from dashboard.core.queueing import resend_batch, send_now
from dashboard.profiles.exports import EXPORT_TASK
from dashboard.profiles.models import (
    ExportJob,
    JobStatus,
    LookupResult,
    ProfileWork,
    ResultStatus,
    SyncJob,
    WorkStatus,
)
from dashboard.profiles.services import LOOKUP_TASK
from dashboard.profiles.sync import SYNC_TASK
from dashboard.profiles.work import PROFILE_WORK_TASK


def sweep_stalled(*, older_than_seconds: float | None = None) -> dict[str, int]:
    """Queue again the work a lost broker message or a killed worker left behind.

    A job still "running" with no progress saved for ``older_than_seconds`` (its worker
    died) goes back to pending; pending jobs and look-up results that old are queued
    again. Returns how many tasks were sent, by kind. Claims are conditional, so a
    message that was only late does no harm; each claim counts against the row's
    attempt cap, so work that kills its worker every time is given up, not re-queued
    forever.
    """
    age = older_than_seconds or settings.PROFILES_STALLED_AFTER_SECONDS
    cutoff = timezone.now() - timedelta(seconds=age)
    batch = resend_batch()
    counts = {"sync": 0, "export": 0, "lookup": 0, "profile_work": 0}
    for model, task, key in ((SyncJob, SYNC_TASK, "sync"), (ExportJob, EXPORT_TASK, "export")):
        model.objects.filter(status=JobStatus.RUNNING, updated_at__lt=cutoff).update(
            status=JobStatus.PENDING
        )
        stalled = model.objects.filter(status=JobStatus.PENDING, updated_at__lt=cutoff)
        for pk in stalled.values_list("pk", flat=True)[:batch]:
            counts[key] += send_now(task, pk)
    # A look-up whose worker died mid-call runs again (a look-up only reads).
    LookupResult.objects.filter(
        status=ResultStatus.RUNNING, request__created_at__lt=cutoff, finished_at=None
    ).update(status=ResultStatus.PENDING)
    stalled = LookupResult.objects.filter(
        status=ResultStatus.PENDING, request__created_at__lt=cutoff, finished_at=None
    )
    for pk in stalled.values_list("pk", flat=True)[:batch]:
        counts["lookup"] += send_now(LOOKUP_TASK, pk)
    # A page's fetch, edit or listing whose worker died mid-call runs again: the row
    # is claimed again, so at most one task makes the call at a time.
    ProfileWork.objects.filter(status=WorkStatus.RUNNING, created_at__lt=cutoff).update(
        status=WorkStatus.PENDING
    )
    stalled = ProfileWork.objects.filter(status=WorkStatus.PENDING, created_at__lt=cutoff)
    for pk in stalled.values_list("pk", flat=True)[:batch]:
        counts["profile_work"] += send_now(PROFILE_WORK_TASK, pk)
    return counts


def profiles_resend_stalled() -> int:
    """The ``core.sweep`` entry: how many tasks :func:`sweep_stalled` sent."""
    return sum(sweep_stalled().values())

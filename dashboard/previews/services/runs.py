"""The work-row pattern for preview and CQL rows (docs/architecture.md): a task
*claims* its row with one conditional UPDATE, every claim counts an attempt, and the
sweeper re-queues rows whose message or worker was lost, until the attempt cap.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from dashboard.core.db import retry_on_locked
from dashboard.core.queueing import claim, resend_batch, send_now
from dashboard.previews.models import CqlEvaluation, PreviewRequest, RunStatus
from integrations.errors import CONFIGURATION, UNKNOWN, Problem

# A preview or evaluation is tried at most this many times: a row whose run keeps
# dying outside ProviderError (a bug, a worker killed mid-call) is given up with a
# problem instead of being re-queued by the sweeper forever.
MAX_ATTEMPTS = 3

# model -> the registered name of the task that runs one row of it
RUN_TASKS = {PreviewRequest: "previews.run_preview", CqlEvaluation: "previews.run_evaluation"}


def claim_run(model, pk: int):
    """The row, now running (one more attempt counted), or None when another worker got
    there first, it is done, or it has no attempt left."""
    pending = model.objects.filter(pk=pk, status=RunStatus.PENDING)
    started = {"started_at": timezone.now()} if model is PreviewRequest else {}
    # A conditional UPDATE: a redelivered message finds the row no longer pending.
    claimed = retry_on_locked(
        lambda: claim(
            pending.filter(attempts__lt=MAX_ATTEMPTS),
            status=RunStatus.RUNNING,
            attempts=F("attempts") + 1,
            **started,
        )
    )
    if not claimed:
        return None
    return retry_on_locked(lambda: model.objects.select_related("account").get(pk=pk))


def configuration_problem(provider: str, detail: str) -> dict[str, Any]:
    return Problem.build(
        provider, CONFIGURATION, title="Cannot call the provider", detail=detail
    ).to_dict()


def _give_up(rows) -> int:
    """Mark ``rows`` failed for good; how many were."""
    given_up = 0
    # The problem names each row's provider, so it reads like any other failure.
    for provider in set(rows.values_list("account__provider", flat=True)):
        problem = Problem.build(
            provider,
            UNKNOWN,
            retryable=False,
            title="Gave up",
            detail=f"The run did not finish after {MAX_ATTEMPTS} attempts.",
        )
        given_up += rows.filter(account__provider=provider).update(
            status=RunStatus.FAILED, finished_at=timezone.now(), problem=problem.to_dict()
        )
    return given_up


def previews_requeue_stale(
    *, pending_after: float | None = None, running_after: float | None = None
) -> dict[str, int]:
    """Queue again the previews and evaluations whose task message or worker was lost.

    A row still pending ``pending_after`` seconds (``QUEUE_RESEND_AFTER_SECONDS``)
    after it was written never reached a worker; one running longer than the task
    time limit lost its worker. A lost run is put back to pending while it has
    attempts left, else failed. Returns how many rows of each kind were queued.
    """
    now = timezone.now()
    pending_after = settings.QUEUE_RESEND_AFTER_SECONDS if pending_after is None else pending_after
    running_after = running_after or settings.CELERY_TASK_TIME_LIMIT + 30
    pending_cutoff = now - timedelta(seconds=pending_after)
    running_cutoff = now - timedelta(seconds=running_after)
    # Evaluations keep no start time: a running one is judged by its age.
    stuck = {
        PreviewRequest: PreviewRequest.objects.filter(
            status=RunStatus.RUNNING, started_at__lt=running_cutoff
        ),
        CqlEvaluation: CqlEvaluation.objects.filter(
            status=RunStatus.RUNNING, created_at__lt=running_cutoff
        ),
    }
    counts = {}
    for model, task in RUN_TASKS.items():
        _give_up(stuck[model].filter(attempts__gte=MAX_ATTEMPTS))
        stuck[model].filter(attempts__lt=MAX_ATTEMPTS).update(status=RunStatus.PENDING)
        ids = list(
            model.objects.filter(
                status=RunStatus.PENDING, created_at__lt=pending_cutoff
            ).values_list("pk", flat=True)[: resend_batch()]
        )
        counts[model._meta.model_name] = sum(send_now(task, pk) for pk in ids)
    return counts


def previews_sweep() -> int:
    """The ``previews`` sweeper run by ``core.sweep``: how many tasks it sent."""
    return sum(previews_requeue_stale().values())

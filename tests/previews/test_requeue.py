"""A lost task message costs time, never the preview: the sweeper queues it again."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dashboard.previews.models import CqlEvaluation, PreviewRequest
from dashboard.previews.services import previews_requeue_stale
from tests.conftest import wait_for

pytestmark = pytest.mark.worker


def test_stale_pending_and_stuck_running_rows_are_run_again(celery_worker, croct):
    long_ago = timezone.now() - timedelta(hours=1)
    lost = PreviewRequest.objects.create(account=croct, slot_id="home-hero")
    stuck = PreviewRequest.objects.create(
        account=croct, slot_id="home-hero", status="running", started_at=long_ago
    )
    fresh = PreviewRequest.objects.create(account=croct, slot_id="home-hero")
    evaluation = CqlEvaluation.objects.create(account=croct, query="true")
    PreviewRequest.objects.filter(pk__in=[lost.pk, stuck.pk]).update(created_at=long_ago)
    CqlEvaluation.objects.filter(pk=evaluation.pk).update(created_at=long_ago)

    counts = previews_requeue_stale()

    assert counts == {"previewrequest": 2, "cqlevaluation": 1}
    wait_for(lambda: PreviewRequest.objects.filter(status="done").count() == 2)
    assert set(PreviewRequest.objects.filter(status="done").values_list("pk", flat=True)) == {
        lost.pk,
        stuck.pk,
    }
    fresh.refresh_from_db()
    assert fresh.status == "pending"  # young enough that its message may still arrive
    wait_for(lambda: CqlEvaluation.objects.get(pk=evaluation.pk).status == "done")
    assert CqlEvaluation.objects.get(pk=evaluation.pk).result == {"value": True}


def test_a_run_that_keeps_failing_outside_provider_errors_is_given_up_at_the_cap(
    croct, monkeypatch, settings
):
    from dashboard.core.queueing import sweep
    from dashboard.previews.services import MAX_ATTEMPTS, preview_run, previews, runs

    def broken(preview, client):  # a bug, not a provider answer: the run dies
        raise RuntimeError("boom")

    monkeypatch.setattr(previews, "content_request_for", broken)
    # The sweeper's messages run here, in-process, as a worker would run them.
    ran = []

    def deliver(task_name, pk):
        ran.append(pk)
        with pytest.raises(RuntimeError):
            preview_run(preview_id=pk)
        return True

    monkeypatch.setattr(runs, "send_now", deliver)
    preview = PreviewRequest.objects.create(account=croct, slot_id="home-hero")
    PreviewRequest.objects.filter(pk=preview.pk).update(
        created_at=timezone.now() - timedelta(hours=1)
    )

    for _ in range(MAX_ATTEMPTS + 2):
        sweep()  # core.sweep, the one beat entry, runs the previews sweeper
        # The dead worker's lease: the running row looks stuck at the next sweep.
        PreviewRequest.objects.filter(pk=preview.pk, status="running").update(
            started_at=timezone.now() - timedelta(hours=1)
        )

    preview.refresh_from_db()
    assert ran == [preview.pk] * MAX_ATTEMPTS
    assert preview.attempts == MAX_ATTEMPTS
    assert preview.status == "failed"
    assert preview.problem["title"] == "Gave up"
    assert preview.problem["provider"] == croct.provider


def test_previews_have_no_beat_entry_of_their_own(settings):
    from dashboard.core.queueing import registered_sweepers

    assert "previews.runs" in registered_sweepers()
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert not any(task.startswith("previews.") for task in tasks)

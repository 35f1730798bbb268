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

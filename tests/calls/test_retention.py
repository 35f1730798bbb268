"""Raw calls older than the retention period are pruned; newer ones stay."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from dashboard.calls.models import ApiCall
from dashboard.calls.tasks import prune_calls


def _call(age: timedelta) -> ApiCall:
    return ApiCall.objects.create(
        provider="octy",
        operation="octy.profiles.get",
        method="GET",
        url="http://127.0.0.1:9/v1/retention/profiles",
        started_at=timezone.now() - age,
        duration_ms=1.0,
        outcome="ok",
    )


def test_it_prunes_only_calls_older_than_the_retention(db, settings):
    settings.CALL_LOG_RETENTION_DAYS = 30
    old = [_call(timedelta(days=31)) for _ in range(3)]
    fresh = _call(timedelta(days=29))
    assert prune_calls() == 3
    assert list(ApiCall.objects.values_list("id", flat=True)) == [fresh.id]
    assert not ApiCall.objects.filter(id__in=[c.id for c in old]).exists()


def test_the_prune_is_scheduled(settings):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "calls.prune" in tasks

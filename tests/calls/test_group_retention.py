"""Groups and their counts outlive the raw-call prune."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard.calls.models import ApiCall, ErrorGroup, ErrorGroupBucket
from dashboard.calls.tasks import prune_calls
from tests.calls.conftest import octy_problem, record

pytestmark = pytest.mark.django_db


def test_pruning_raw_calls_keeps_groups_counts_and_buckets(settings, client_for, support):
    settings.CALL_LOG_RETENTION_DAYS = 30
    problem = octy_problem(503, 503, "down")
    old = record(problem, at=timezone.now() - timedelta(days=40), count=3)
    fresh = record(problem, at=timezone.now() - timedelta(days=1))

    assert prune_calls() == 3

    assert list(ApiCall.objects.values_list("pk", flat=True)) == [fresh[0].pk]
    assert not ApiCall.objects.filter(pk__in=[c.pk for c in old]).exists()
    group = ErrorGroup.objects.get()
    assert group.count == 4
    assert sum(ErrorGroupBucket.objects.values_list("count", flat=True)) == 4
    page = client_for(support).get(reverse("calls:group", args=[group.pk], query={"bucket": "day"}))
    assert page.status_code == 200
    assert 'data-testid="group-count">4<' in page.content.decode()


def test_a_group_whose_calls_are_all_pruned_still_opens(settings, client_for, support):
    settings.CALL_LOG_RETENTION_DAYS = 30
    record(octy_problem(503, 503, "down"), at=timezone.now() - timedelta(days=40))
    prune_calls()
    group = ErrorGroup.objects.get()

    page = client_for(support).get(reverse("calls:group", args=[group.pk]))

    assert page.status_code == 200
    assert "No raw calls left" in page.content.decode()


def test_the_beat_schedule_runs_the_synthetic_checks_and_the_straggler_fold(settings):
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"calls.prune", "accounts.synthetic_checks", "calls.fold_stragglers"} <= tasks

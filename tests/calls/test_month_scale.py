"""The call-log and Errors-page reads that keep a month of traffic cheap (#17): the
operation list kept beside the log, the group page's windowed occurrences, coarse
sparkline bars summed in the database, and the filter choices in one statement."""

from __future__ import annotations

import random
import re
from datetime import timedelta

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dashboard.calls.group_selectors import (
    OCCURRENCE_WINDOW,
    bucket_edges,
    group_filter_choices,
    group_occurrences,
    group_series,
)
from dashboard.calls.models import ApiCall, CallOperation, ErrorGroup, ErrorGroupBucket
from dashboard.calls.selectors import operations
from dashboard.calls.services import calls_prune
from tests.calls.conftest import make_account, octy_problem, record


def test_a_recorded_operation_is_listed_without_reading_the_log(db):
    now = timezone.now()
    record(None, provider="croct", operation="content.fetch", at=now - timedelta(hours=2))
    record(None, provider="croct", operation="content.fetch", at=now)
    record(octy_problem(503, 503, "down"), operation="profiles.get", at=now - timedelta(hours=1))

    with CaptureQueriesContext(connection) as ctx:
        listed = operations()

    assert listed == ["content.fetch", "profiles.get"]
    assert not [q for q in ctx.captured_queries if ApiCall._meta.db_table in q["sql"]]
    assert CallOperation.objects.get(operation="content.fetch").last_seen == now


def test_a_late_batch_does_not_move_an_operations_time_back(db):
    now = timezone.now()
    record(None, operation="content.fetch", at=now)
    record(None, operation="content.fetch", at=now - timedelta(days=2))
    assert CallOperation.objects.get(operation="content.fetch").last_seen == now


def test_the_call_log_offers_the_recorded_operations(client_for, marketer):
    record(None, operation="content.fetch")
    record(None, operation="events.track")
    page = client_for(marketer).get(reverse("calls:list")).content.decode()
    select = re.search(r'<select id="f-operation".*?</select>', page, re.S).group(0)
    assert re.findall(r"<option >([^<]+)</option>", select) == ["content.fetch", "events.track"]


def test_operations_not_called_within_the_retention_are_forgotten(db):
    now = timezone.now()
    record(None, operation="old.thing", at=now - timedelta(days=40))
    record(None, operation="content.fetch", at=now)
    calls_prune(older_than_days=30)
    assert operations() == ["content.fetch"]


def test_a_quiet_group_still_shows_its_older_occurrences(db):
    problem = octy_problem(503, 503, "down")
    now = timezone.now()
    old = record(problem, at=now - OCCURRENCE_WINDOW * 5, count=3)
    [latest] = record(problem, at=now)
    group = ErrorGroup.objects.get()

    rows = group_occurrences(group, limit=15)

    assert [row["id"] for row in rows] == [latest.pk] + [c.pk for c in old]


def test_a_busy_group_shows_its_latest_occurrences_from_the_window(db):
    problem = octy_problem(503, 503, "down")
    now = timezone.now()
    record(problem, at=now - OCCURRENCE_WINDOW * 3, count=2)
    recent = record(problem, at=now, count=4)
    group = ErrorGroup.objects.get()

    with CaptureQueriesContext(connection) as ctx:
        rows = group_occurrences(group, limit=4)

    assert [row["id"] for row in rows] == [c.pk for c in recent]
    assert len(ctx.captured_queries) == 1  # the window held enough: no second look


def _python_series(group_ids, period, now):
    """What group_series computed before #17: every hourly row read and summed here."""
    edges = bucket_edges(period, now=now)
    step = edges[1] - edges[0]
    counts = {gid: [0] * len(edges) for gid in group_ids}
    for gid, hour, count in ErrorGroupBucket.objects.filter(group_id__in=group_ids).values_list(
        "group_id", "hour", "count"
    ):
        index = (hour - edges[0]) // step
        if 0 <= index < len(edges):
            counts[gid][index] += count
    return {gid: list(zip(edges, values, strict=True)) for gid, values in counts.items()}


def test_coarse_bars_summed_in_the_database_match_the_hourly_rows(db):
    rng = random.Random(17)
    account = make_account()
    now = timezone.now()
    for operation in ("content.fetch", "events.track"):
        record(octy_problem(503, 503, "down"), operation=operation, account=account, at=now)
    groups = list(ErrorGroup.objects.values_list("pk", flat=True))
    hour_now = now.replace(minute=0, second=0, microsecond=0)
    for gid in groups:
        # 300 of the last 800 hours: every bar of 7 and 30 days, and hours outside both.
        hours = {hour_now - timedelta(hours=h) for h in rng.sample(range(800), 300)}
        ErrorGroupBucket.objects.filter(group_id=gid).delete()
        ErrorGroupBucket.objects.bulk_create(
            ErrorGroupBucket(group_id=gid, hour=hour, count=rng.randint(1, 50)) for hour in hours
        )

    for period in ("24h", "7d", "30d"):
        assert group_series(groups, period, now=now) == _python_series(groups, period, now)


def test_filter_choices_list_each_operation_once_and_every_account(db):
    shop, blog = make_account("Shop"), make_account("Blog")
    for operation, count in (("content.fetch", 3), ("events.track", 1)):
        for status in (500, 502, 503):
            record(octy_problem(status, status, "down"), operation=operation, count=count)

    with CaptureQueriesContext(connection) as ctx:
        accounts, found_operations = group_filter_choices()

    assert len(ctx.captured_queries) == 1
    assert accounts == [{"pk": blog.pk, "name": "Blog"}, {"pk": shop.pk, "name": "Shop"}]
    assert found_operations == ["content.fetch", "events.track"]

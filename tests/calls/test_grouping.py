"""Failures fold into groups by cause, across the four providers' error formats."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboard.calls.models import (
    ApiCall,
    ErrorGroup,
    ErrorGroupAccount,
    ErrorGroupBucket,
    ErrorGroupCredential,
    ErrorGroupSubject,
)
from integrations import errors
from tests.calls.conftest import (
    NOW,
    altcraft_problem,
    commanders_act_problem,
    croct_problem,
    make_account,
    octy_problem,
    record,
    transport_problem,
)

pytestmark = pytest.mark.django_db


def group_of(calls) -> int:
    ids = {c.group_id for c in ApiCall.objects.filter(pk__in=[c.pk for c in calls])}
    assert len(ids) == 1, ids
    assert None not in ids
    return ids.pop()


# (same cause worded differently) and (a different cause), per provider's format
SAME_AND_DIFFERENT = {
    "croct": (
        lambda: croct_problem(401, "authentication/unknown-api-key", "Key abc123 is unknown"),
        lambda: croct_problem(401, "authentication/unknown-api-key", "Key zzz999 is unknown"),
        lambda: croct_problem(401, "authentication/expired-api-key", "Key abc123 is unknown"),
    ),
    "octy": (
        lambda: octy_problem(404, 404, "No customer profile 123 was found"),
        lambda: octy_problem(404, 404, "No customer profile 456 was found"),
        lambda: octy_problem(404, "PROFILE_DELETED", "No customer profile 123 was found"),
    ),
    "altcraft": (
        lambda: altcraft_problem(450, "Field email is not valid: a@b"),
        lambda: altcraft_problem(450, "Field phone is not valid: +123"),
        lambda: altcraft_problem(404, "Field email is not valid: a@b"),
    ),
    "commanders_act": (
        lambda: commanders_act_problem(503, b"<html>down for maintenance</html>"),
        lambda: commanders_act_problem(502, b"bad gateway, try later"),
        lambda: commanders_act_problem(400, b"<html>down for maintenance</html>"),
    ),
    "transport": (
        lambda: transport_problem("octy", errors.TIMEOUT, "read timed out after 10.0 s"),
        lambda: transport_problem("octy", errors.TIMEOUT, "read timed out after 9.7 s"),
        lambda: transport_problem("octy", errors.TRANSPORT, "read timed out after 10.0 s"),
    ),
}


@pytest.mark.parametrize("fmt", SAME_AND_DIFFERENT)
def test_the_same_cause_worded_differently_groups_together(fmt):
    first, same, _ = SAME_AND_DIFFERENT[fmt]

    a = record(first())
    b = record(same())

    assert group_of(a) == group_of(b)
    assert ErrorGroup.objects.get().count == 2


@pytest.mark.parametrize("fmt", SAME_AND_DIFFERENT)
def test_a_different_provider_code_is_a_different_group(fmt):
    first, _, different = SAME_AND_DIFFERENT[fmt]

    a = record(first())
    b = record(different())

    assert group_of(a) != group_of(b)
    assert ErrorGroup.objects.count() == 2


def test_the_same_problem_on_another_operation_is_another_group():
    problem = octy_problem(429, 429, "Too many requests")

    a = record(problem, operation="profiles.get")
    b = record(problem, operation="profiles.list")

    assert group_of(a) != group_of(b)


def test_successes_and_suspensions_are_not_grouped():
    from integrations.croct.problems import suspension_problem
    from tests.calls.conftest import response

    record(None)
    record(suspension_problem(response(202, headers={"X-Suspension-Reason": "quota"})))

    assert not ErrorGroup.objects.exists()
    assert ApiCall.objects.count() == 2


def test_a_group_keeps_counts_first_and_last_seen_accounts_keys_and_subjects():
    shop, crm = make_account("Shop"), make_account("CRM")
    problem = croct_problem(503, "service-unavailable")
    record(
        problem,
        account=shop,
        at=NOW - timedelta(hours=3),
        credential="fp-old",
        count=2,
        subject=("preview", "7"),
    )
    record(problem, account=crm, at=NOW, credential="fp-new", subject=("preview", "8"))
    record(
        problem,
        account=crm,
        at=NOW - timedelta(minutes=1),
        credential="fp-new",
        subject=("preview", "8"),
    )

    group = ErrorGroup.objects.get()
    assert group.count == 4
    assert group.first_seen == NOW - timedelta(hours=3, milliseconds=1)
    assert group.last_seen == NOW
    assert group.problem_class == "provider_down"
    assert group.subjects_count == 2
    accounts = {r.account_id: r.count for r in ErrorGroupAccount.objects.filter(group=group)}
    assert accounts == {shop.pk: 2, crm.pk: 2}
    keys = {c.fingerprint: (c.first_seen, c.count) for c in ErrorGroupCredential.objects.all()}
    assert keys["fp-new"] == (NOW - timedelta(minutes=1), 2)
    assert keys["fp-old"][1] == 2
    assert set(ErrorGroupSubject.objects.values_list("subject_id", flat=True)) == {"7", "8"}


def test_hourly_buckets_count_each_hour():
    problem = octy_problem(500, 500, "boom")
    hour = NOW.replace(minute=30, second=0)
    record(problem, at=hour, count=3)
    record(problem, at=hour - timedelta(hours=2), count=2)
    record(problem, at=hour + timedelta(minutes=10))

    buckets = dict(ErrorGroupBucket.objects.values_list("hour", "count"))
    top = hour.replace(minute=0)
    assert buckets == {top: 4, top - timedelta(hours=2): 2}
    assert ErrorGroup.objects.get().count == 6


def test_the_subject_list_stops_at_its_limit(settings):
    settings.ERROR_GROUP_SUBJECT_LIMIT = 3
    problem = octy_problem(404, 404, "gone")
    for i in range(5):
        record(problem, subject=("event", str(i)))

    assert ErrorGroupSubject.objects.count() == 3
    assert ErrorGroup.objects.get().subjects_count == 3


def test_folding_a_batch_costs_the_same_statements_whatever_its_size():
    problems = [
        croct_problem(401, "authentication/unknown-api-key"),
        octy_problem(429, 429, "slow down"),
        altcraft_problem(450, "bad"),
    ]
    account = make_account()

    def statements(per_problem: int) -> int:
        from dashboard.calls.groups import fold_failures

        calls = [c for p in problems for c in record(p, account=account, count=per_problem)]
        ApiCall.objects.update(group=None)
        with CaptureQueriesContext(connection) as ctx:
            fold_failures(calls)
        return len(ctx.captured_queries)

    small, large = statements(2), statements(60)
    assert small == large
    # groups + one link per fingerprint + buckets, accounts, keys (+ savepoint pair)
    assert large <= 3 + 4 + 2
    assert ErrorGroup.objects.count() == 3


def test_a_failed_fold_leaves_the_calls_for_the_straggler_task(monkeypatch):
    from dashboard.calls import groups

    def broken(folds):
        from django.db import DatabaseError

        raise DatabaseError("database is locked")

    monkeypatch.setattr(groups, "_fold", broken)
    calls = record(octy_problem(503, 503, "down"), at=NOW - timedelta(minutes=5), count=3)
    assert ApiCall.objects.filter(group__isnull=True).count() == 3
    monkeypatch.undo()

    assert groups.fold_stragglers() == 3

    assert group_of(calls)
    assert ErrorGroup.objects.get().count == 3

"""The Overview reads each panel grouped: its number of queries does not follow the
number of accounts, and every figure it shows equals a direct count of the rows."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dashboard.accounts.models import AccountCheck, ConnectedAccount, Health
from dashboard.calls.models import ApiCall
from dashboard.calls.services import calls_write
from dashboard.core.histogram import bucket_ms, latency_bucket
from dashboard.events.outbox import event_queue
from tests.events.conftest import ca_event
from tests.overview.test_overview import account, calls, cell

# Commanders Act second, so that two accounts already have events to list.
PROVIDERS = ("croct", "commanders_act", "octy", "altcraft")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def busy_account(index: int) -> ConnectedAccount:
    """An account with everything the Overview shows about one: calls in and out of
    the hour (ok, failed, suspended, rate limited with a Retry-After), a passed or a
    failed check, and, on Commanders Act, a queued event."""
    provider = PROVIDERS[index % len(PROVIDERS)]
    failing = index % 3 == 0
    acct = account(
        f"Account {index:02d}", provider, health=Health.FAILING if failing else Health.HEALTHY
    )
    calls(acct, count=5 + index, spread=timedelta(seconds=7))
    calls(acct, count=1 + index % 4, outcome="failed", problem_kind="unavailable")
    calls(acct, count=index % 2, outcome="suspended", ago=timedelta(minutes=30))
    calls(
        acct,
        count=1 + index % 2,
        ago=timedelta(seconds=10 + index),
        outcome="failed",
        problem_kind="rate_limited",
        status=429,
        problem={"kind": "rate_limited", "retry_after": 120},
    )
    calls(acct, count=7, ago=timedelta(hours=3))  # outside the hour
    AccountCheck.objects.create(account=acct, status="ok", latency_ms=40.0 + index)
    if failing:
        AccountCheck.objects.create(
            account=acct, status="failed", problem={"title": f"Key refused {index}"}
        )
    if provider == "commanders_act":
        event_queue(account=acct, payload=ca_event(), dispatch=False)
    return acct


def overview_queries(client) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(reverse("overview"))
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_the_number_of_queries_does_not_follow_the_number_of_accounts(client_for, marketer, db):
    client = client_for(marketer)
    for index in range(2):
        busy_account(index)
    client.get(reverse("overview"))  # the session and permission caches, once
    with_two = overview_queries(client)

    for index in range(2, 8):
        busy_account(index)
    with_eight = overview_queries(client)

    page = client.get(reverse("overview")).content.decode()
    assert page.count('<tr data-account="') == 8  # the eight are listed
    assert with_eight == with_two


def test_every_figure_equals_a_direct_count(client_for, marketer, db):
    accounts = [busy_account(index) for index in range(8)]
    # A call of no account counts in the totals and its provider's row only.
    calls_write(
        [
            ApiCall(
                provider="octy",
                operation="octy.op",
                method="GET",
                url="http://127.0.0.1:9/x",
                started_at=timezone.now() - timedelta(minutes=2),
                duration_ms=3.0,
                outcome="ok",
            )
        ]
    )

    page = client_for(marketer).get(reverse("overview")).content.decode()

    since = timezone.now() - timedelta(hours=1)
    hour = ApiCall.objects.filter(started_at__gte=since)
    assert re.search(r'data-testid="calls-total">(\d+)<', page).group(1) == str(hour.count())
    failed, suspended = (hour.filter(outcome=o).count() for o in ("failed", "suspended"))
    assert f"{failed} failed · {suspended} suspended" in page
    assert re.search(r'data-testid="accounts-count">(\d+)<', page).group(1) == "8"
    for acct in accounts:
        mine = hour.filter(account=acct)
        durations = sorted(mine.values_list("duration_ms", flat=True))
        p95 = durations[round(0.95 * (len(durations) - 1))]
        assert cell(page, acct.pk, "calls") == str(mine.count())
        assert cell(page, acct.pk, "failed") == str(mine.filter(outcome="failed").count())
        assert cell(page, acct.pk, "limited") == str(
            mine.filter(problem_kind="rate_limited").count()
        )
        # From the duration histogram: the middle of the exact p95's bucket.
        assert cell(page, acct.pk, "p95") == f"{bucket_ms(latency_bucket(p95)):.0f}"
        assert re.search(r"\d+ s left", cell(page, acct.pk, "backoff"))
        check = acct.checks.order_by("-pk").first()
        assert f"{check.get_status_display()}" in page.split(f'data-account="{acct.pk}"')[1]

    def provider_row(provider):
        return page.split(f'<tr data-provider="{provider}">', 1)[1].split("</tr>", 1)[0]

    for provider in PROVIDERS:
        row = provider_row(provider)
        expected = hour.filter(provider=provider).count()
        assert re.search(r'<td class="num">(\d+)</td>', row).group(1) == str(expected)
        limit = settings.PROVIDER_RATE_LIMITS.get(provider)
        if limit:
            unit = 1 if limit["per_seconds"] == 1 else 60
            windows = Counter(
                int(started.timestamp()) // unit
                for started in hour.filter(provider=provider).values_list("started_at", flat=True)
            )
            peak = max(windows.values(), default=0)
            assert re.search(r'data-testid="peak">(\d+)<', row).group(1) == str(peak)

    failing = [a for a in accounts if a.health == Health.FAILING]
    listed = page.split('data-testid="failed-checks"', 1)[1].split("</p>", 1)[0]
    assert re.findall(r">(Account \d+)</a>", listed) == sorted(a.name for a in failing)
    for acct in failing:
        assert f"Key refused {accounts.index(acct)}" in listed
    queued = page.split('data-testid="delivery-table"', 1)[1]
    ca_accounts = [a for a in accounts if a.provider == "commanders_act"]
    assert all(a.name in queued for a in ca_accounts)


def test_the_daily_counts_are_every_group_while_the_lists_stop_at_twenty(client_for, marketer, db):
    from dashboard.calls.models import ErrorGroup, GroupState

    now = timezone.now()

    def group(name, *, first_seen, **fields):
        return ErrorGroup(
            fingerprint=f"fp-{name}",
            provider="octy",
            operation="octy.op",
            problem_kind="unavailable",
            problem_class="provider_down",
            problem_key="status:5xx",
            title=f"Down {name}",
            first_seen=first_seen,
            last_seen=now,
            **fields,
        )

    ErrorGroup.objects.bulk_create(
        [group(f"new-{i}", first_seen=now - timedelta(hours=2)) for i in range(25)]
        + [
            group(
                f"back-{i}",
                first_seen=now - timedelta(days=5),
                state=GroupState.REGRESSED,
                regressed_at=now - timedelta(hours=1),
            )
            for i in range(3)
        ]
        + [group("old", first_seen=now - timedelta(days=3))]  # before the day
    )

    page = client_for(marketer).get(reverse("overview")).content.decode()

    day = now - timedelta(days=1)
    new = ErrorGroup.objects.filter(first_seen__gte=day).count()
    regressed = ErrorGroup.objects.filter(regressed_at__gte=day, state="regressed").count()
    assert (new, regressed) == (25, 3)
    assert f'data-testid="new-groups">{new}</span>' in page
    assert f'data-testid="regressed-groups">{regressed}</span>' in page
    assert page.count('<span class="badge state-new">New</span>') == 20


def test_each_account_shows_its_own_latest_429_however_many_others_had(client_for, marketer, db):
    busy, quiet = account("Busy", "octy"), account("Quiet", "croct")
    limited = {"outcome": "failed", "problem_kind": "rate_limited", "status": 429}
    calls(busy, count=600, ago=timedelta(minutes=1), problem={"retry_after": 0}, **limited)
    calls(quiet, count=1, ago=timedelta(minutes=10), problem={"retry_after": 3600}, **limited)

    page = client_for(marketer).get(reverse("overview")).content.decode()

    assert re.search(r"\d+ s left", cell(page, quiet.pk, "backoff"))
    assert cell(page, busy.pk, "limited") == "600"

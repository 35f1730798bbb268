"""The Operations overview: figures computed from seeded rows, the synthetic check,
and the sections other features own."""

from __future__ import annotations

import re
import types
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard.accounts.models import AccountCheck, ConnectedAccount
from dashboard.accounts.scheduled_checks import account_checks_queue_synthetic
from dashboard.calls.groups import group_set_state
from dashboard.calls.models import ApiCall, ErrorGroup
from dashboard.calls.services import calls_write
from dashboard.core.histogram import bucket_ms, latency_bucket
from tests.conftest import wait_for


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def account(name: str, provider: str, **fields) -> ConnectedAccount:
    return ConnectedAccount.objects.create(
        provider=provider, name=name, base_url="http://127.0.0.1:9", settings={}, **fields
    )


def calls(acct, *, count, ago=timedelta(minutes=5), spread=timedelta(0), **fields):
    now = timezone.now()
    fields.setdefault("outcome", "ok")
    duration = fields.pop("duration_ms", None)
    rows = [
        ApiCall(
            account=acct,
            provider=acct.provider,
            operation=f"{acct.provider}.op",
            method="GET",
            url="http://127.0.0.1:9/x",
            started_at=now - ago - spread * i,
            duration_ms=duration or float(i + 1),
            **fields,
        )
        for i in range(count)
    ]
    # The production write (the Overview reads the counters calls_write keeps).
    calls_write(rows)
    return rows


def cell(page: str, account_pk: int, testid: str) -> str:
    row = page.split(f'<tr data-account="{account_pk}">', 1)[1].split("</tr>", 1)[0]
    return re.search(rf'data-testid="{testid}">(.*?)</td>', row, re.S).group(1).strip()


def test_per_account_figures_come_from_the_last_hour(client_for, marketer, db):
    shop = account("Shop", "croct")
    crm = account("CRM", "octy")
    calls(shop, count=20)  # durations 1..20 ms
    calls(shop, count=3, outcome="failed", problem_kind="unavailable", duration_ms=500.0)
    calls(shop, count=50, ago=timedelta(hours=2))  # outside the hour
    calls(
        crm,
        count=2,
        ago=timedelta(seconds=5),
        outcome="failed",
        problem_kind="rate_limited",
        status=429,
        problem={"kind": "rate_limited", "retry_after": 60},
    )
    AccountCheck.objects.create(account=shop, status="ok", latency_ms=87.0)

    page = client_for(marketer).get(reverse("overview")).content.decode()

    assert cell(page, shop.pk, "calls") == "23"
    assert cell(page, shop.pk, "failed") == "3"
    # Rank 22 of 23 durations is 500 ms; the page reads it from the duration
    # histogram, as the middle of 500's bucket (within 4.4 %).
    assert cell(page, shop.pk, "p95") == f"{bucket_ms(latency_bucket(500)):.0f}" == "490"
    assert cell(page, shop.pk, "limited") == "0"
    assert cell(page, crm.pk, "limited") == "2"
    backoff = cell(page, crm.pk, "backoff")
    seconds = int(re.search(r"(\d+) s left", backoff).group(1))
    assert 50 <= seconds <= 60
    assert "Passed in 87 ms" in page


def test_a_back_off_that_is_over_is_not_current(client_for, marketer, db):
    crm = account("CRM", "octy")
    calls(
        crm,
        count=1,
        ago=timedelta(minutes=10),
        outcome="failed",
        problem_kind="rate_limited",
        problem={"kind": "rate_limited", "retry_after": 30},
    )

    page = client_for(marketer).get(reverse("overview")).content.decode()

    assert "s left" not in cell(page, crm.pk, "backoff")
    assert "over" in cell(page, crm.pk, "backoff")


def test_provider_volume_is_measured_against_documented_limits(client_for, marketer, db):
    ca = account("Tags", "commanders_act")
    octy = account("CRM", "octy")
    calls(ca, count=450, ago=timedelta(minutes=1))  # one second, 90 % of 500/s
    calls(octy, count=30, ago=timedelta(minutes=3), spread=timedelta(seconds=1))
    calls(octy, count=10, ago=timedelta(minutes=20))

    page = client_for(marketer).get(reverse("overview")).content.decode()

    def row(provider):
        return page.split(f'<tr data-provider="{provider}">', 1)[1].split("</tr>", 1)[0]

    assert '<span data-testid="peak">450</span> per second' in row("commanders_act")
    assert 'class="meter bad"' in row("commanders_act")
    assert "500 per second" in row("commanders_act")
    assert re.search(r'data-testid="peak">(\d+)</span> per minute', row("octy"))
    peak = int(re.search(r'data-testid="peak">(\d+)<', row("octy")).group(1))
    assert 10 <= peak <= 30
    assert "120 per minute" in row("octy")
    assert "none published" in row("croct")


def test_the_daily_summary_lists_new_and_regressed_groups(client_for, marketer, admin, db):
    from tests.calls.conftest import croct_problem, octy_problem, record

    now = timezone.now()
    record(croct_problem(401, "authentication/unknown-api-key"), at=now - timedelta(days=3))
    record(octy_problem(503, 503, "down"), at=now - timedelta(minutes=5))
    old = ErrorGroup.objects.get(provider="croct")
    group_set_state(group=old, action="resolve", actor=admin)
    record(croct_problem(401, "authentication/unknown-api-key"), at=now + timedelta(seconds=1))

    page = client_for(marketer).get(reverse("overview")).content.decode()

    assert '<span class="stat" data-testid="new-groups">1</span>' in page
    assert '<span class="stat" data-testid="regressed-groups">1</span>' in page
    assert reverse("calls:group", args=[old.pk]) in page


def test_keys_due_for_rotation_are_shown_per_account(client_for, marketer, db, monkeypatch):
    shop = account("Shop", "croct")
    import dashboard.accounts.selectors as accounts_selectors

    due = [types.SimpleNamespace(account_id=shop.pk, fingerprint="abc")]
    monkeypatch.setattr(
        accounts_selectors,
        "credentials_due_for_rotation",
        lambda max_age_days=None: due,
        raising=False,
    )

    page = client_for(marketer).get(reverse("overview")).content.decode()

    assert '<span class="badge warn" data-testid="rotation-due">1 due for rotation</span>' in page


def test_the_synthetic_check_queues_enabled_verifiable_accounts_once(
    db, django_capture_on_commit_callbacks
):
    shop = account("Shop", "croct")
    account("Off", "octy", is_enabled=False)
    account("Tags", "commanders_act")  # cannot verify

    with django_capture_on_commit_callbacks() as callbacks:
        queued = account_checks_queue_synthetic()
    again = account_checks_queue_synthetic()  # the first one is still pending

    assert [AccountCheck.objects.get(pk=pk).account for pk in queued] == [shop]
    assert again == []
    assert len(callbacks) == 1


def test_the_scheduled_check_runs_the_verify_call_and_the_overview_shows_it(
    celery_worker, demo_account, client_for, marketer
):
    from dashboard.accounts.tasks import queue_synthetic_checks

    shop = demo_account("croct")

    queue_synthetic_checks.delay()  # what beat sends every SYNTHETIC_CHECK_SECONDS
    check = wait_for(
        lambda: AccountCheck.objects.filter(account=shop, status="ok").first(), timeout=30
    )

    page = client_for(marketer).get(reverse("overview")).content.decode()
    assert check.latency_ms is not None
    assert f"Passed in {check.latency_ms:.0f} ms" in page
    assert cell(page, shop.pk, "calls") == "1"

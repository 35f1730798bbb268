"""Each rule kind fires on what it watches, respects its filters, and says it in one
sentence naming the account and provider, with a console link."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dashboard.accounts.models import AccountCheck, Credential
from dashboard.alerts import services
from dashboard.alerts.engine import alerts_run
from dashboard.alerts.models import Alert
from dashboard.calls.groups import group_set_state
from dashboard.calls.models import ErrorGroup
from dashboard.events.models import OutboundEvent
from tests.alerts.conftest import add_rule, croct_problem, make_account, record

pytestmark = pytest.mark.django_db
AUTH = ("authentication/unknown-api-key", 401)


@pytest.fixture
def email(db):
    return services.destination_create(target="oncall@example.com").destination


@pytest.fixture
def shop(db):
    return make_account("Shop EU")


def _fail(account, *, count=1, at=None, status=401, path="authentication/unknown-api-key"):
    return record(
        croct_problem(status, path), account=account, count=count, at=at or timezone.now()
    )


def _sentences() -> list[str]:
    return list(Alert.objects.values_list("sentence", flat=True))


def test_a_new_group_fires_naming_account_provider_and_linking_the_group(email, shop):
    add_rule("new_group", email)
    _fail(shop)
    [alert] = alerts_run().alerts
    group = ErrorGroup.objects.get()
    assert "Shop EU" in alert.sentence
    assert "croct" in alert.sentence
    assert alert.link == f"/calls/errors/{group.pk}/"
    assert alert.account == shop


def test_group_rules_honour_provider_account_and_error_kind_filters(email, shop):
    other = make_account("Other shop")
    add_rule("new_group", email, provider="octy")
    add_rule("new_group", email, account=other)
    add_rule("new_group", email, error_kind="rate_limited")
    _fail(shop)
    assert alerts_run().alerts == []
    matching = add_rule("new_group", email, provider="croct", account=shop, error_kind="auth")
    [alert] = alerts_run().alerts
    assert alert.rule == matching


def test_a_regressed_group_fires_once_per_regression(email, shop):
    add_rule("regressed_group", email)
    _fail(shop, at=timezone.now() - timedelta(minutes=5))
    assert alerts_run().alerts == []
    group_set_state(group=ErrorGroup.objects.get(), action="resolve")
    _fail(shop, at=timezone.now() + timedelta(seconds=1))
    [alert] = alerts_run().alerts
    assert "came back" in alert.sentence
    assert alerts_run().alerts == []


def test_an_escalating_group_fires_above_its_threshold_only(email, shop):
    add_rule("escalating_group", email, params={"count": 5, "minutes": 30})
    _fail(shop, count=5)
    assert alerts_run().alerts == []
    _fail(shop, count=1)
    [alert] = alerts_run().alerts
    assert "6 times" in alert.sentence


def test_failure_rate_fires_over_the_percentage_with_enough_calls(email, shop):
    add_rule("failure_rate", email, params={"percent": 50, "minutes": 15, "min_calls": 10})
    _fail(shop, count=6)
    assert alerts_run().alerts == []  # 6 calls: too few to judge
    record(None, account=shop, count=4, at=timezone.now())
    [alert] = alerts_run().alerts
    assert "60 %" in alert.sentence
    assert "Shop EU" in alert.sentence


def test_check_failing_needs_k_failures_in_a_row(email, shop):
    add_rule("check_failing", email, params={"times": 3})

    def check(status):
        AccountCheck.objects.create(account=shop, status=status, finished_at=timezone.now())

    check("failed")
    check("ok")
    check("failed")
    check("failed")
    assert alerts_run().alerts == []
    check("failed")
    [alert] = alerts_run().alerts
    assert "3 times in a row" in alert.sentence


def _event(account, *, status, minutes_ago):
    return OutboundEvent.objects.create(
        account=account,
        provider=account.provider,
        event_type="userSignedUp",
        body="{}",
        size_bytes=2,
        idempotency_key=f"k{OutboundEvent.objects.count()}",
        status=status,
        created_at=timezone.now() - timedelta(minutes=minutes_ago),
    )


def test_a_stale_outbox_fires(email, shop):
    add_rule("outbox_stale", email, params={"minutes": 10})
    _event(shop, status="queued", minutes_ago=5)
    assert alerts_run().alerts == []
    _event(shop, status="queued", minutes_ago=20)
    [alert] = alerts_run().alerts
    assert "2 events wait" in alert.sentence


def test_events_needing_a_person_fire(email, shop):
    add_rule("events_held", email, params={"minutes": 60})
    _event(shop, status="delivered", minutes_ago=1)
    assert alerts_run().alerts == []
    _event(shop, status="dead", minutes_ago=1)
    [alert] = alerts_run().alerts
    assert "need a person" in alert.sentence


def _key(account, state, **fields):
    return Credential.objects.create(
        account=account, state=state, fingerprint=f"fp_{state}{account.pk}", **fields
    )


def test_an_old_key_fires_with_its_fingerprint_only(email, shop):
    add_rule("key_age", email, params={"days": 30})
    key = _key(shop, "active")
    assert alerts_run().alerts == []
    Credential.objects.filter(pk=key.pk).update(created_at=timezone.now() - timedelta(days=40))
    [alert] = alerts_run().alerts
    assert key.fingerprint in alert.sentence
    assert "40 days" in alert.sentence


def test_a_failed_rotation_fires(email, shop):
    add_rule("rotation_failed", email)
    key = _key(shop, "failed")
    AccountCheck.objects.create(
        account=shop,
        credential=key,
        status="failed",
        finished_at=timezone.now(),
        problem={"kind": "auth"},
    )
    [alert] = alerts_run().alerts
    assert "failed verification (auth)" in alert.sentence


def test_an_ending_overlap_fires_only_while_the_old_key_serves_traffic(email, shop):
    add_rule("overlap_ending", email, params={"hours": 2, "used_minutes": 30})
    old = _key(shop, "previous", previous_until=timezone.now() + timedelta(hours=1))
    assert alerts_run().alerts == []  # not used lately: nobody depends on it
    record(None, account=shop, credential=old.fingerprint, at=timezone.now())
    [alert] = alerts_run().alerts
    assert old.fingerprint in alert.sentence
    assert "stops working" in alert.sentence


def test_muted_and_snoozed_rules_stay_quiet(email, shop):
    muted = add_rule("new_group", email)
    services.rule_set_muted(rule=muted, muted=True)
    snoozed = add_rule("new_group", email)
    services.rule_snooze(rule=snoozed, until=timezone.now() + timedelta(hours=1))
    _fail(shop)
    assert alerts_run().alerts == []
    services.rule_snooze(rule=snoozed, until=None)
    assert len(alerts_run().alerts) == 1


def test_a_snoozed_group_is_skipped_by_every_rule(email, shop):
    add_rule("new_group", email)
    _fail(shop)
    services.group_snooze(group=ErrorGroup.objects.get(), until=timezone.now() + timedelta(hours=1))
    assert alerts_run().alerts == []


def test_alerts_carry_no_secret_nor_payload(email, shop):
    add_rule("new_group", email)
    _fail(shop, status=400, path="request/invalid-payload")
    assert alerts_run().alerts
    for sentence in _sentences():
        assert "api_key" not in sentence
        assert "http://127.0.0.1:9" not in sentence

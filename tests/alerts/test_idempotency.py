"""Evaluation never raises the same alert twice, nor sends one twice: a second pass,
two passes at once, a redelivered delivery task, a worker dying mid-send."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.utils import timezone

from dashboard.alerts.delivery import deliveries_resend_waiting, delivery_attempt
from dashboard.alerts.engine import alerts_run
from dashboard.alerts.models import Alert, Delivery, DeliveryState
from tests.alerts.conftest import add_rule, croct_problem, make_account, record


def _fail(account, count=1, path="authentication/unknown-api-key"):
    record(croct_problem(401, path), account=account, count=count, at=timezone.now())


@pytest.mark.django_db
def test_a_second_pass_raises_and_sends_nothing_new(webhook, receiver):
    add_rule("new_group", webhook)
    _fail(make_account("Shop EU"))
    first = alerts_run()
    assert len(first.alerts) == 1
    assert alerts_run().alerts == []
    assert Alert.objects.count() == 1
    assert Delivery.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_passes_at_once_raise_one_alert_with_one_delivery(webhook, settings):
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0
    add_rule("new_group", webhook)
    _fail(make_account("Shop EU"))
    barrier = threading.Barrier(2)
    errors = []

    def run():
        try:
            barrier.wait()
            alerts_run()
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert Alert.objects.count() == 1
    assert Delivery.objects.count() == 1


@pytest.mark.django_db
def test_a_lasting_condition_alerts_again_only_in_the_next_window(webhook):
    rule = add_rule(
        "escalating_group", webhook, params={"count": 1, "minutes": 60, "throttle_minutes": 60}
    )
    _fail(make_account("Shop EU"), count=3)
    now = timezone.now().replace(minute=10)
    assert len(alerts_run(now=now).alerts) == 1
    assert alerts_run(now=now + timedelta(minutes=30)).alerts == []
    assert len(alerts_run(now=now + timedelta(minutes=60)).alerts) == 1
    assert rule.alerts.count() == 2


@pytest.mark.django_db
def test_a_burst_becomes_one_digest(webhook, receiver):
    add_rule("new_group", webhook)
    shop = make_account("Shop EU")
    for i in range(5):
        record(
            croct_problem(400, f"request/broken-{i}"),
            account=shop,
            operation=f"op.{i}",
            at=timezone.now(),
        )
    [digest] = alerts_run().alerts
    assert digest.is_digest
    assert digest.members.count() == 5
    assert "5 alerts at once" in digest.sentence
    [delivery] = Delivery.objects.all()
    delivery_attempt(delivery_id=delivery.pk)
    [payload] = receiver.payloads
    assert len(payload["digest"]) == 5


@pytest.mark.django_db
def test_a_redelivered_delivery_message_sends_nothing_again(webhook, receiver):
    add_rule("new_group", webhook)
    _fail(make_account("Shop EU"))
    [delivery] = alerts_run().deliveries
    assert delivery_attempt(delivery_id=delivery.pk).state == DeliveryState.SENT
    assert delivery_attempt(delivery_id=delivery.pk) is None
    assert len(receiver.received) == 1


@pytest.mark.django_db
def test_a_worker_that_died_mid_delivery_is_replaced_once_its_lease_ends(
    webhook, receiver, monkeypatch
):
    add_rule("new_group", webhook)
    _fail(make_account("Shop EU"))
    [delivery] = alerts_run().deliveries
    # The dead worker claimed it (the lease moved it forward) and never finished.
    from dashboard.alerts import delivery as module

    assert module._claim(delivery.pk)
    assert deliveries_resend_waiting() == 0  # still leased: nobody else sends
    Delivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - timedelta(hours=1)
    )
    sent = []
    monkeypatch.setattr(module, "send_now", lambda task, *args, **kw: sent.append(args) or True)
    assert deliveries_resend_waiting() == 1
    assert delivery_attempt(delivery_id=sent[0][0]).state == DeliveryState.SENT
    assert len(receiver.received) == 1


@pytest.mark.django_db
def test_the_beat_task_and_the_command_agree_on_one_alert(webhook, receiver):
    from django.core.management import call_command

    from dashboard.alerts.tasks import run_alerts

    add_rule("new_group", webhook)
    _fail(make_account("Shop EU"))
    assert run_alerts() == 1
    call_command("run_alerts", stdout=open("/dev/null", "w"))  # noqa: SIM115
    call_command("run_alerts", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert Alert.objects.count() == 1
    assert len(receiver.received) == 1

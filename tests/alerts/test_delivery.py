"""Alerts reach a real SMTP server and a real HTTP receiver; failures are retried
with the destination's answer in the history, then given up."""

from __future__ import annotations

from email.header import decode_header, make_header

import pytest

from dashboard.alerts import services
from dashboard.alerts.delivery import delivery_attempt
from dashboard.alerts.engine import alerts_run
from dashboard.alerts.models import Delivery, DeliveryState
from tests.alerts.conftest import add_rule, croct_problem, make_account, record

pytestmark = pytest.mark.django_db


def _new_group_alert(destination, account_name="Shop EU"):
    account = make_account(account_name)
    add_rule("new_group", destination)
    record(croct_problem(401, "authentication/unknown-api-key"), account=account)
    result = alerts_run()
    assert len(result.deliveries) == 1
    return result.deliveries[0]


def test_it_emails_the_alert_through_a_real_smtp_server(smtp_server):
    destination = services.destination_create(target="oncall@example.com").destination
    delivery = delivery_attempt(delivery_id=_new_group_alert(destination).pk)
    assert delivery.state == DeliveryState.SENT
    [message] = smtp_server.messages
    assert message["To"] == "oncall@example.com"
    assert "Shop EU" in str(make_header(decode_header(message["Subject"])))
    body = message.get_payload(decode=True).decode()
    assert "croct" in body
    assert "/calls/errors/" in body


def test_the_webhook_is_signed_and_the_receiver_verifies_it(receiver, webhook):
    delivery = delivery_attempt(delivery_id=_new_group_alert(webhook).pk)
    assert delivery.state == DeliveryState.SENT
    [got] = receiver.received
    assert got.verified
    assert got.headers["X-Switchyard-Delivery"] == str(delivery.pk)
    payload = receiver.payloads[0]
    assert payload["account"] == "Shop EU"
    assert payload["provider"] == "croct"
    assert payload["kind"] == "new_group"
    assert payload["link"].endswith(f"/calls/errors/{delivery.alert.group_id}/")


def test_a_wrong_secret_does_not_verify(receiver, webhook):
    receiver.secret = "whsec_not-the-right-one"
    delivery_attempt(delivery_id=_new_group_alert(webhook).pk)
    assert not receiver.received[0].verified


def test_a_500_is_retried_and_the_history_says_so(receiver, webhook):
    receiver.script = [500]
    delivery = delivery_attempt(delivery_id=_new_group_alert(webhook).pk)
    assert delivery.state == DeliveryState.FAILED
    assert delivery.last_answer.startswith("HTTP 500")
    assert "upstream exploded" in delivery.last_answer
    retried = delivery_attempt(delivery_id=delivery.pk)
    assert retried.state == DeliveryState.SENT
    assert retried.attempts == 2
    assert len(receiver.received) == 2


def test_a_timeout_is_retried(receiver, webhook):
    receiver.script = ["hang"]
    delivery = delivery_attempt(delivery_id=_new_group_alert(webhook).pk)
    assert delivery.state == DeliveryState.FAILED
    assert "no answer within" in delivery.last_answer
    assert delivery_attempt(delivery_id=delivery.pk).state == DeliveryState.SENT


def test_it_gives_up_after_the_last_try(receiver, webhook, settings):
    receiver.script = [503, 503, 503, 503]
    delivery = _new_group_alert(webhook)
    states = [
        delivery_attempt(delivery_id=delivery.pk).state for _ in range(settings.ALERTS_MAX_ATTEMPTS)
    ]
    assert states == ["failed", "failed", "given_up"]
    assert delivery_attempt(delivery_id=delivery.pk) is None  # nothing left to try
    assert len(receiver.received) == 3


def test_a_4xx_is_not_retried(receiver, webhook):
    receiver.script = [410]
    delivery = delivery_attempt(delivery_id=_new_group_alert(webhook).pk)
    assert delivery.state == DeliveryState.GIVEN_UP


def test_a_failed_try_waits_its_backoff(receiver, webhook, settings):
    settings.ALERTS_RETRY_BASE_SECONDS = 60
    receiver.script = [500]
    delivery = delivery_attempt(delivery_id=_new_group_alert(webhook).pk)
    # Not due yet: a redelivered message or the sweeper does not send it early.
    assert delivery_attempt(delivery_id=delivery.pk) is None
    assert len(receiver.received) == 1


def test_a_delivery_being_sent_is_not_taken_by_a_second_worker(receiver, webhook, monkeypatch):
    delivery = _new_group_alert(webhook)
    from dashboard.alerts import delivery as module

    inner = {}
    real_send = module.transport.send

    def send_and_race(*args, **kwargs):
        # While this worker sends, a redelivered message for the same delivery runs.
        inner["second"] = delivery_attempt(delivery_id=delivery.pk)
        return real_send(*args, **kwargs)

    monkeypatch.setattr(module.transport, "send", send_and_race)
    assert delivery_attempt(delivery_id=delivery.pk).state == DeliveryState.SENT
    assert inner["second"] is None
    assert len(receiver.received) == 1


def test_answers_never_echo_the_destination_url(receiver, db):
    created = services.destination_create(target=receiver.url + "?token=sekrit-token-123")
    receiver.secret = created.signing_secret
    receiver.script = [500]
    delivery = _new_group_alert(created.destination)
    done = delivery_attempt(delivery_id=delivery.pk)
    assert "sekrit" not in done.last_answer
    assert Delivery.objects.filter(last_answer__contains="sekrit").count() == 0


def test_each_try_is_in_the_history_with_the_destinations_answer(
    receiver, webhook, client_for, admin
):
    receiver.script = [500, "hang"]
    delivery = _new_group_alert(webhook)
    for _ in range(3):
        delivery_attempt(delivery_id=delivery.pk)
    tries = list(delivery.tries.values_list("number", "outcome"))
    assert tries == [(1, "retrying"), (2, "retrying"), (3, "sent")]
    body = client_for(admin).get(f"/alerts/{delivery.alert_id}/").content.decode()
    assert body.count('data-testid="delivery-try"') == 3
    assert "try 1: <strong>Failed, retrying</strong> — HTTP 500: upstream exploded" in body
    assert "try 2: <strong>Failed, retrying</strong> — no answer within 0.5 s" in body
    assert "try 3: <strong>Sent</strong>" in body


def test_a_try_whose_worker_died_is_recorded_as_interrupted(receiver, webhook):
    from django.db.models import F

    delivery = _new_group_alert(webhook)
    # What a SIGKILLed worker leaves behind: a claimed try (counted) with no record.
    Delivery.objects.filter(pk=delivery.pk).update(attempts=F("attempts") + 1)
    done = delivery_attempt(delivery_id=delivery.pk)
    assert done.state == DeliveryState.SENT
    assert list(done.tries.values_list("number", "outcome")) == [
        (1, "interrupted"),
        (2, "sent"),
    ]
    # The repeat is recognisable: the id a receiver dedups on is in the signed body.
    assert receiver.payloads[0]["delivery_id"] == delivery.pk


def test_a_try_that_outlived_its_lease_keeps_its_real_outcome(receiver, webhook, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from dashboard.alerts import delivery as module

    delivery = _new_group_alert(webhook)
    real_send = module.transport.send
    inner = {}

    def send_past_the_lease(*args, **kwargs):
        if "second" not in inner:
            inner["second"] = None
            # The lease ran out while this try was on the wire: another worker takes over
            # (and marks this try interrupted, since nothing recorded it yet).
            Delivery.objects.filter(pk=delivery.pk).update(
                next_attempt_at=timezone.now() - timedelta(seconds=1)
            )
            inner["second"] = delivery_attempt(delivery_id=delivery.pk)
        return real_send(*args, **kwargs)

    monkeypatch.setattr(module.transport, "send", send_past_the_lease)
    first = delivery_attempt(delivery_id=delivery.pk)
    assert inner["second"].state == DeliveryState.SENT
    assert first.state == DeliveryState.SENT
    assert list(first.tries.values_list("number", "outcome")) == [(1, "sent"), (2, "sent")]
    assert len(receiver.received) == 2

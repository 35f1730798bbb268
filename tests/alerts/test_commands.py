"""alert_rule add/list/remove and run_alerts, as scripts use them."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from dashboard.alerts.models import AlertRule, Destination
from tests.alerts.conftest import croct_problem, make_account, record

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_add_a_webhook_rule_prints_its_signing_secret_once(receiver):
    make_account("Shop EU")
    data = json.loads(
        run(
            "alert_rule",
            "add",
            "--when",
            "new_group",
            "--destination",
            receiver.url,
            "--provider",
            "croct",
            "--account",
            "Shop EU",
            "--json",
        )
    )
    assert data["kind"] == "new_group"
    assert data["account"] == "Shop EU"
    [destination] = data["destinations"]
    assert destination["kind"] == "webhook"
    assert destination["signing_secret"].startswith("whsec_")
    listed = run("alert_rule", "list", "--json")
    assert destination["signing_secret"] not in listed
    assert receiver.url not in listed
    assert json.loads(listed)[0]["destinations"][0]["last4"] == receiver.url[-4:]


def test_add_takes_the_kinds_parameters_as_flags():
    data = json.loads(
        run(
            "alert_rule",
            "add",
            "--when",
            "escalating_group",
            "--count",
            "50",
            "--minutes",
            "10",
            "--destination",
            "ops@example.com",
            "--json",
        )
    )
    assert data["params"] == {"count": 50, "minutes": 10, "throttle_minutes": 60}


def test_add_refuses_a_flag_of_another_kind_and_bad_input():
    with pytest.raises(CommandError, match="takes no --count"):
        run(
            "alert_rule",
            "add",
            "--when",
            "new_group",
            "--count",
            "3",
            "--destination",
            "a@example.com",
        )
    with pytest.raises(CommandError, match="no account"):
        run(
            "alert_rule",
            "add",
            "--when",
            "new_group",
            "--account",
            "Nope",
            "--destination",
            "a@example.com",
        )
    with pytest.raises(CommandError, match="metadata"):
        run(
            "alert_rule",
            "add",
            "--when",
            "new_group",
            "--destination",
            "http://metadata.google.internal/x",
        )
    with pytest.raises(
        CommandError, match="169.254.169.254 points at 169.254.169.254, a cloud metadata address"
    ):
        run(
            "alert_rule",
            "add",
            "--when",
            "new_group",
            "--destination",
            "http://169.254.169.254/latest",
        )
    assert AlertRule.objects.count() == 0


def test_the_same_destination_is_reused_by_a_second_rule():
    run("alert_rule", "add", "--when", "new_group", "--destination", "ops@example.com")
    run("alert_rule", "add", "--when", "key_age", "--destination", "ops@example.com")
    assert Destination.objects.count() == 1


def test_remove():
    data = json.loads(
        run("alert_rule", "add", "--when", "new_group", "--destination", "a@example.com", "--json")
    )
    assert "removed" in run("alert_rule", "remove", str(data["id"]))
    assert not AlertRule.objects.exists()
    with pytest.raises(CommandError):
        run("alert_rule", "remove", str(data["id"]))


def test_run_alerts_prints_what_it_sent_and_sends_once(receiver):
    created = json.loads(
        run("alert_rule", "add", "--when", "new_group", "--destination", receiver.url, "--json")
    )
    receiver.secret = created["destinations"][0]["signing_secret"]
    record(croct_problem(401, "authentication/unknown-api-key"), account=make_account("Shop EU"))
    first = run("run_alerts")
    assert "1 new alert" in first
    assert "sent: New error on Shop EU (croct)" in first
    assert "0 new alert" in run("run_alerts")
    assert len(receiver.received) == 1
    assert receiver.received[0].verified


@pytest.mark.parametrize(
    "target", ["http://exa\x00mple.com/x", "https://example.com/" + "x" * 100_000, "http://[::1"]
)
def test_a_hostile_destination_is_a_command_error_not_a_crash(target):
    with pytest.raises(CommandError, match="target: "):
        run("alert_rule", "add", "--when", "new_group", "--destination", target)
    with pytest.raises(CommandError, match="account"):
        run(
            "alert_rule",
            "add",
            "--when",
            "new_group",
            "--destination",
            "a@example.com",
            "--account",
            "Shop\x00" + "x" * 100_000,
        )
    assert AlertRule.objects.count() == 0

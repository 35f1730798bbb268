"""``manage.py send_event``: queue, deliver in-process, print, exit status."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from dashboard.events.models import EventStatus, OutboundEvent
from integrations.sandbox import Fault

pytestmark = pytest.mark.django_db


def run(*args):
    out = StringIO()
    code = 0
    try:
        call_command("send_event", *args, stdout=out)
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue()


def test_it_delivers_and_prints_json(ca_account, ca_sandbox):
    code, out = run(
        ca_account.name,
        "--type",
        "page_view",
        "--payload",
        '{"user": {"id": "u1"}, "context": {}}',
        "--json",
    )
    data = json.loads(out)
    assert code == 0
    assert data["status"] == "delivered"
    assert ca_sandbox.delivery_count(data["idempotency_key"]) == 1
    # The console filled in what the provider needs.
    assert data["payload"]["context"]["event_timestamp"] > 0


def test_a_v1_payload_is_converted(ca_account, ca_sandbox):
    v1 = {
        "event_name": "purchase",
        "event_id": "v1-abc",
        "properties": {"id": "o1", "revenue": 5, "value": 5, "currency": "EUR", "items": []},
        "user": {"id": "u"},
    }
    code, out = run(ca_account.name, "--payload", json.dumps(v1), "--json")
    data = json.loads(out)
    assert code == 0
    assert data["converted_from_v1"] is True
    assert data["payload"]["context"]["event_id"] == "v1-abc"
    assert data["payload"]["revenue"] == 5


def test_a_refused_event_exits_non_zero_and_stores_nothing(ca_account):
    code, out = run(ca_account.name, "--payload", '{"event_name": "page_view"}')
    assert code == 1
    assert "refused" in out
    assert "user" in out
    assert not OutboundEvent.objects.exists()


def test_invalid_json_is_refused(ca_account):
    code, out = run(ca_account.name, "--payload", "{nope")
    assert code == 1
    assert "not valid JSON" in out


def test_an_undelivered_event_exits_non_zero(ca_account, ca_sandbox):
    ca_sandbox.faults.add(Fault(kind="status", status=400))
    code, out = run(
        ca_account.name, "--type", "page_view", "--payload", '{"user": {}, "context": {}}'
    )
    assert code == 1
    assert "failed" in out
    assert OutboundEvent.objects.get().status == EventStatus.FAILED


def test_it_retries_transient_failures_in_process(ca_account, ca_sandbox, settings):
    settings.EVENTS_RETRY_BASE_SECONDS = 0.05
    settings.EVENTS_RETRY_MAX_SECONDS = 0.1
    ca_sandbox.faults.add(Fault(kind="status", status=503, count=2))
    code, out = run(
        ca_account.name, "--type", "page_view", "--payload", '{"user": {}, "context": {}}', "--json"
    )
    data = json.loads(out)
    assert code == 0
    assert data["attempts"] == 3


def test_croct_and_octy_events_go_through_the_same_command(
    croct_account, octy_account, octy_profile
):
    code, out = run(
        croct_account.name,
        "--type",
        "goalCompleted",
        "--payload",
        '{"goalId": "signup-done"}',
        "--url",
        "https://shop.example/signup",
    )
    assert code == 0, out
    code, out = run(
        octy_account.name,
        "--payload",
        json.dumps({"event_type": "signup", "profile_id": octy_profile}),
    )
    assert code == 0, out

"""Commanders Act's events adapter: preparing, packing by size, sending the stored bytes."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest

from integrations.commanders_act import PROVIDER
from integrations.commanders_act.client import ACCEPTED_NOTE
from integrations.commanders_act.payloads import BATCH_LIMIT_BYTES, STANDARD_EVENTS
from integrations.commanders_act.sandbox import DEMO_SECRETS, DEMO_SETTINGS, create_app
from integrations.errors import PayloadError
from integrations.events import InvalidEvent, OutcomeKind
from integrations.sandbox import Fault, serve
from tests.integrations.stored_events import Stored

events = PROVIDER.events
NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def running():
    # werkzeug logs one line per request.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = serve(create_app())
    yield server
    server.stop()


@pytest.fixture
def sandbox(running):
    running.app.reset()
    return running.app


@pytest.fixture
def client(running):
    return PROVIDER.build_client(base_url=running.url, settings=DEMO_SETTINGS, secrets=DEMO_SECRETS)


def event(name: str = "page_view", event_id: str = "evt-1", **extra) -> dict:
    return {
        "event_name": name,
        "user": {"consistent_anonymous_id": "caid-1", "id": "customer-1"},
        "context": {"event_id": event_id},
        **extra,
    }


def test_the_provider_declares_its_adapter():
    assert PROVIDER.events is not None
    assert events.event_types() == sorted(STANDARD_EVENTS)


def test_every_template_prepares():
    for name, template in events.templates.items():
        prepared = events.prepare(dict(template), now=NOW)
        assert prepared.event_type == name


def test_prepare_fills_the_timestamp_and_keys_the_event_on_its_event_id():
    prepared = events.prepare(event(), now=NOW)
    body = json.loads(prepared.body)
    assert body["context"]["event_id"] == "evt-1"
    assert body["context"]["event_timestamp"] == int(NOW.timestamp() * 1000)
    assert prepared.idempotency_key == "evt-1"
    assert prepared.size_bytes == len(prepared.body.encode())
    assert prepared.identifiers == {"id": "customer-1", "consistent_anonymous_id": "caid-1"}
    assert prepared.user_id == "customer-1"


def test_a_v1_event_is_converted():
    v1 = {"event_name": "page_view", "user": {"id": "u-1"}, "event_id": "e-1", "page_name": "Home"}
    prepared = events.prepare(v1, now=NOW)
    assert prepared.converted_from_v1
    assert "event_id" not in json.loads(prepared.body)
    assert events.converted_note
    assert events.converted_format


def test_prepare_refuses_every_missing_part_and_a_contradicting_type():
    with pytest.raises(InvalidEvent) as caught:
        events.prepare({"event_name": "page_view"}, now=NOW)
    assert caught.value.errors == [
        "user: is required (an object)",
        "context: is required (an object)",
    ]
    with pytest.raises(InvalidEvent, match="event type is 'purchase'"):
        events.prepare(event(), event_type="purchase", now=NOW)


def test_a_value_of_the_wrong_shape_is_a_payload_error():
    with pytest.raises(PayloadError):
        events.prepare({**event(), "context": ["not", "an", "object"]}, now=NOW)


def test_batches_stay_under_the_request_limit_in_order():
    padding = "x" * 30_000
    stored = [
        Stored.of(events.prepare(event(event_id=f"e-{i}", note=padding), now=NOW))
        for i in range(40)
    ]
    in_beta = SimpleNamespace(batch_beta=True)
    batches = list(events.batches(stored, client=in_beta))
    assert len(batches) > 1
    assert [e for batch in batches for e in batch] == stored
    for batch in batches:
        body = b'{"batch":[' + b",".join(e.body.encode() for e in batch) + b"]}"
        assert len(body) <= BATCH_LIMIT_BYTES


def test_a_source_outside_the_batch_beta_sends_one_event_a_request():
    """contract: Commanders Act / batch endpoint is a closed beta"""
    stored = [Stored.of(events.prepare(event(event_id=f"e-{i}"), now=NOW)) for i in range(3)]
    for client in (None, SimpleNamespace(batch_beta=False)):
        assert [len(b) for b in events.batches(stored, client=client)] == [1, 1, 1]
    assert [len(b) for b in events.batches(stored, client=SimpleNamespace(batch_beta=True))] == [3]


def test_send_batch_sends_the_stored_bytes_once_each(client, sandbox):
    stored = [Stored.of(events.prepare(event(event_id=f"e-{i}"), now=NOW)) for i in range(3)]
    outcomes = events.send_batch(client, stored)
    assert [(o.event, o.kind) for o in outcomes] == [(e, OutcomeKind.ACCEPTED) for e in stored]
    assert sandbox.stats()["requests"] == 1
    received = [r["event"] for r in sandbox.recent_events()]
    assert [json.dumps(r, separators=(",", ":"), ensure_ascii=False) for r in received] == [
        e.body for e in stored
    ]


def test_a_transient_failure_fails_the_whole_batch_retryably(client, sandbox):
    sandbox.faults.add(Fault(kind="status", status=503, count=1))
    stored = [Stored.of(events.prepare(event(event_id=f"e-{i}"), now=NOW)) for i in range(2)]
    outcomes = events.send_batch(client, stored)
    assert {o.kind for o in outcomes} == {OutcomeKind.FAILED_RETRYABLE}
    assert outcomes[0].problem is outcomes[1].problem
    assert outcomes[0].problem.status == 503


def test_a_refused_request_fails_permanently(client, sandbox):
    sandbox.faults.add(Fault(kind="status", status=400, count=1))
    stored = [Stored.of(events.prepare(event(), now=NOW))]
    (outcome,) = events.send_batch(client, stored)
    assert outcome.kind == OutcomeKind.FAILED_PERMANENT
    assert outcome.problem.provider == "commanders_act"


def test_a_converted_event_lists_what_the_conversion_moved():
    """contract: Commanders Act / v1 to v2: all root metadata moves into context"""
    v1 = {
        "event_name": "page_view",
        "user": {"id": "u-1"},
        "event_id": "e-1",
        "page": {"location": "https://x.test/"},
        "properties": {"revenue": 10},
    }
    prepared = events.prepare(v1, now=NOW)
    assert prepared.moved == (
        ("event_id", "context.event_id"),
        ("page.location", "context.page.url"),
        ("page", "context.page"),
        ("properties.revenue", "revenue"),
    )
    assert events.prepare(event(), now=NOW).moved == ()


def test_a_sent_event_is_named_accepted_by_the_collect_endpoint_not_delivered():
    """contract: Commanders Act / 200 for every request"""
    assert events.delivered_label == "Accepted by the collect endpoint"
    assert events.delivered_note == ACCEPTED_NOTE
    assert "event inspector" in events.delivered_note

"""Octy's events adapter: preparing, 500-event batches, a failure per event."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import requests

from integrations.events import InvalidEvent, OutcomeKind
from integrations.octy import PROVIDER
from integrations.octy.payloads import MAX_BATCH
from integrations.octy.problems import is_held_for_person
from integrations.octy.results import CHECK_ADVICE, EventBatchResult
from integrations.octy.results import EventOutcome as OctyOutcome
from integrations.octy.sandbox import DEMO_SECRETS, create_app
from integrations.sandbox import Fault, serve
from tests.integrations.stored_events import Stored

events = PROVIDER.events
NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def served():
    # Rate limiting off: these tests are about batches and failures.
    running = serve(create_app(rate_limit_per_minute=None))
    yield running
    running.stop()


@pytest.fixture
def sandbox(served):
    served.app.reset()
    return served.app


@pytest.fixture
def client(served):
    return PROVIDER.build_client(base_url=served.url, settings={}, secrets=DEMO_SECRETS)


@pytest.fixture
def profile_id(sandbox):
    return sandbox.store.find("cust-00001")["profile_id"]


def sandbox_root(served) -> str:
    """The sandbox's own origin (its control paths sit beside the API prefix)."""
    return served.url.split("/v1/")[0].rstrip("/")


def stored(profile_id: str, event_type: str = "page_view", **properties) -> Stored:
    payload = {"event_type": event_type, "profile_id": profile_id, "event_properties": properties}
    return Stored.of(events.prepare(payload, now=NOW))


def test_the_provider_declares_its_adapter():
    assert PROVIDER.events is not None
    assert events.max_batch == MAX_BATCH == 500
    assert events.event_types() == sorted(events.templates)


def test_prepare_fills_created_at_and_names_the_profile():
    prepared = events.prepare({"profile_id": "profile_1"}, event_type="page_view", now=NOW)
    body = json.loads(prepared.body)
    assert body["event_type"] == "page_view"
    assert body["created_at"] == "2024-03-01 12:00:00"
    assert prepared.identifiers == {"profile_id": "profile_1"}
    assert prepared.user_id == "profile_1"


def test_prepare_refuses_fields_octy_does_not_have():
    with pytest.raises(InvalidEvent) as caught:
        events.prepare({"event_type": "x", "profile_id": "p", "b": 1, "a": 2}, now=NOW)
    assert caught.value.errors == [
        "a: is not a field of an Octy event",
        "b: is not a field of an Octy event",
    ]


def test_batches_hold_at_most_500_events():
    items = [Stored(body="{}", idempotency_key=str(i)) for i in range(MAX_BATCH + 1)]
    assert [len(b) for b in events.batches(items)] == [MAX_BATCH, 1]


def test_partial_failures_map_back_to_their_events(client, sandbox, profile_id):
    good = stored(profile_id)
    nobody = stored("profile_nobody")
    also_good = stored(profile_id, "signup")
    outcomes = {id(o.event): o for o in events.send_batch(client, [good, nobody, also_good])}
    assert outcomes[id(good)].kind == OutcomeKind.ACCEPTED
    assert outcomes[id(good)].provider_event_id.startswith("event_")
    assert outcomes[id(also_good)].kind == OutcomeKind.ACCEPTED
    failed = outcomes[id(nobody)]
    assert failed.kind == OutcomeKind.FAILED_PERMANENT
    assert "Profile not found" in failed.problem.detail
    assert failed.problem.title == "Event not created"


def test_a_transient_failure_fails_every_event_retryably(client, sandbox, profile_id):
    sandbox.faults.add(Fault(kind="status", status=503, count=1))
    outcomes = events.send_batch(client, [stored(profile_id), stored(profile_id)])
    assert {o.kind for o in outcomes} == {OutcomeKind.FAILED_RETRYABLE}
    assert len({id(o.problem) for o in outcomes}) == 1


def test_a_500_after_the_write_holds_every_event_of_the_request(client, served, profile_id):
    """contract: Octy / 500 after a write is ambiguous (hold for a person)"""
    requests.post(f"{sandbox_root(served)}/_sandbox/fail_after_write", json={"count": 1})
    sent = [stored(profile_id), stored(profile_id, "signup")]
    outcomes = events.send_batch(client, sent)
    assert [o.kind for o in outcomes] == [OutcomeKind.HELD, OutcomeKind.HELD]
    assert [o.event for o in outcomes] == sent
    # One Problem for the request, so the dispatcher records them together.
    assert outcomes[0].problem is outcomes[1].problem
    assert is_held_for_person(outcomes[0].problem)
    assert not outcomes[0].problem.retryable
    # The sandbox applied the write: resending would have created them twice.
    assert served.app.stats()["events_created"] == 2
    assert "check in Octy, then replay or discard" in events.held_note


def test_an_event_octy_answered_for_ambiguously_is_held_not_failed():
    """contract: Octy / 500 after a write is ambiguous (hold for a person)"""

    class Unmatched:
        # A 201 whose failure list names an event Octy's answer cannot place.
        def create_events(self, octy_events):
            return EventBatchResult(
                [],
                [],
                outcomes=[
                    OctyOutcome(0, "unknown", hold_for_person=True, advice=CHECK_ADVICE),
                    OctyOutcome(1, "created", "event_1"),
                ],
            )

    sent = [stored("profile_1"), stored("profile_1", "signup")]
    held, accepted = events.send_batch(Unmatched(), sent)
    assert (held.kind, accepted.kind) == (OutcomeKind.HELD, OutcomeKind.ACCEPTED)
    assert held.problem.detail == CHECK_ADVICE
    assert accepted.provider_event_id == "event_1"


def test_a_created_answer_without_a_result_list_accepts_every_event(client, sandbox, profile_id):
    """contract: Octy / 2xx Created/Success without a per-object result list"""
    sandbox.result_lists = "never"
    outcomes = events.send_batch(client, [stored(profile_id), stored(profile_id, "signup")])
    assert [(o.kind, o.provider_event_id) for o in outcomes] == [(OutcomeKind.ACCEPTED, "")] * 2
    assert sandbox.stats()["events_created"] == 2

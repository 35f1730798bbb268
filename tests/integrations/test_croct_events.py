"""Croct's events adapter: preparing the track body, one event per request."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from integrations.croct import PROVIDER
from integrations.croct.payloads import TRACK_EVENT_TYPES
from integrations.croct.sandbox import DEMO_SECRETS, DEMO_SETTINGS, create_app
from integrations.errors import PayloadError
from integrations.events import EventsAdapter, InvalidEvent, OutcomeKind
from integrations.sandbox import Fault, serve
from tests.integrations.stored_events import Stored

events = PROVIDER.events
NOW = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def served():
    running = serve(create_app())
    yield running
    running.stop()


@pytest.fixture
def sandbox(served):
    served.app.reset()
    return served.app


@pytest.fixture
def client(served):
    return PROVIDER.build_client(base_url=served.url, settings=DEMO_SETTINGS, secrets=DEMO_SECRETS)


def test_the_provider_declares_its_adapter():
    assert PROVIDER.events is not None
    assert events.max_batch == 1
    assert events.event_types() == sorted(TRACK_EVENT_TYPES)
    assert [o.name for o in events.options] == ["url", "client_id"]


def test_prepare_builds_the_track_body_with_the_given_client_id():
    client_id = str(uuid.uuid4())
    prepared = events.prepare(
        {"goalId": "newsletter-signup"},
        event_type="goalCompleted",
        options={"client_id": client_id, "url": "https://shop.example/newsletter"},
        now=NOW,
    )
    body = json.loads(prepared.body)
    assert body["context"]["url"] == "https://shop.example/newsletter"
    assert body["payload"] == {"type": "goalCompleted", "goalId": "newsletter-signup"}
    assert body["originalTime"] == body["departureTime"] == int(NOW.timestamp() * 1000)
    assert body["context"]["tabId"]
    assert prepared.envelope == {"client_id": client_id}
    assert prepared.user_id == client_id


def test_a_signed_up_user_id_becomes_the_external_user_id():
    prepared = events.prepare(
        {"type": "userSignedUp", "userId": "customer-42"},
        options={"url": "https://shop.example/signup"},
        now=NOW,
    )
    assert json.loads(prepared.body)["payload"]["externalUserId"] == "customer-42"
    assert prepared.identifiers["user_id"] == "customer-42"


def test_prepare_refuses_violations_with_their_path_and_a_bad_client_id():
    with pytest.raises(InvalidEvent) as caught:
        events.prepare({"type": "goalCompleted", "goalId": "x"}, now=NOW)
    assert any(e.startswith("payload.goalId") for e in caught.value.errors)
    with pytest.raises(PayloadError, match="client_id"):
        events.prepare(
            {"type": "pageOpened", "url": "https://a.example/"},
            options={"client_id": "nope"},
            now=NOW,
        )


def test_each_event_is_its_own_batch():
    items = [Stored(body="{}", idempotency_key=str(i)) for i in range(3)]
    assert [len(b) for b in events.batches(items)] == [1, 1, 1]


def test_send_batch_tracks_the_stored_event(client, sandbox):
    prepared = events.prepare({"type": "pageOpened", "url": "https://shop.example/"}, now=NOW)
    (outcome,) = events.send_batch(client, [Stored.of(prepared)])
    assert outcome.kind == OutcomeKind.ACCEPTED
    assert sandbox.stats()["tracked_by_client"] == {prepared.envelope["client_id"]: 1}


def test_a_transient_failure_is_retryable(client, sandbox):
    sandbox.faults.add(Fault(kind="status", status=503, count=1))
    prepared = events.prepare({"type": "pageOpened", "url": "https://shop.example/"}, now=NOW)
    (outcome,) = events.send_batch(client, [Stored.of(prepared)])
    assert outcome.kind == OutcomeKind.FAILED_RETRYABLE


def test_a_body_croct_refuses_fails_permanently(client, sandbox):
    prepared = events.prepare({"type": "pageOpened", "url": "https://shop.example/"}, now=NOW)
    body = json.loads(prepared.body)
    body["payload"] = {"type": "goalCompleted"}  # no goalId: Croct answers 400
    (outcome,) = events.send_batch(client, [Stored(json.dumps(body), "k", prepared.envelope)])
    assert outcome.kind == OutcomeKind.FAILED_PERMANENT
    assert outcome.problem.provider == "croct"


class _Strict(EventsAdapter):
    """An adapter whose validator trips over a value of the wrong shape."""

    provider = "strict"

    def build(self, payload, event_type, options, now):
        return payload["items"][0]  # a TypeError when items is not a list

    def send_batch(self, client, events):
        return []


def test_the_base_turns_a_validator_tripping_into_a_payload_error():
    with pytest.raises(PayloadError) as caught:
        _Strict().prepare({"items": 3})
    assert "not subscriptable" in str(caught.value)


def test_an_event_without_its_page_url_is_refused_not_given_an_invented_one():
    """Croct's track needs context.url: an invented page would land in the workspace's
    analytics as a visit, so the user must say where the event happened."""
    with pytest.raises(InvalidEvent) as caught:
        events.prepare({"type": "goalCompleted", "goalId": "newsletter-signup"}, now=NOW)
    assert caught.value.errors == ["url: Croct needs the page URL the event happened on"]
    with pytest.raises(InvalidEvent) as caught:
        events.prepare(
            {"type": "goalCompleted", "goalId": "newsletter-signup"},
            options={"url": "shop.example/x"},
            now=NOW,
        )
    assert caught.value.errors[0].startswith("url: Croct needs the page URL")


def test_a_page_opened_event_happened_on_the_page_it_opened():
    prepared = events.prepare({"type": "pageOpened", "url": "https://shop.example/p"}, now=NOW)
    assert json.loads(prepared.body)["context"]["url"] == "https://shop.example/p"


def test_no_template_carries_a_page_url():
    for name, template in events.templates.items():
        text = json.dumps(template)
        assert "example" not in text, name
        assert "invalid" not in text, name
    with pytest.raises(InvalidEvent) as caught:
        events.prepare(dict(events.templates["pageOpened"]), now=NOW)
    assert "url: Croct needs the page URL the event happened on" in caught.value.errors

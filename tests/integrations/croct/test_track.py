"""Tracking events through /client/web/track (providers/croct.md: track)."""

from __future__ import annotations

import json
import uuid

import pytest

from integrations import errors
from integrations.croct.client import PayloadError, TrackEvent, fill_track_event


def event(payload, client_id, **options):
    return TrackEvent(
        payload=payload, url="https://shop.example.com/", client_id=client_id, **options
    )


def test_it_tracks_with_the_app_id_and_counts_per_client(client, sandbox, exchanges, client_id):
    client.track(
        event(
            {"type": "goalCompleted", "goalId": "signup", "value": 10, "currency": "USD"}, client_id
        )
    )
    client.track(event({"type": "pageOpened", "url": "https://shop.example.com/"}, client_id))
    sent = exchanges[0]
    assert sent.url.endswith("/client/web/track")
    assert sent.request_headers["X-App-Id"] == client.app_id
    assert "X-Api-Key" not in sent.request_headers
    stats = sandbox.app.stats()
    assert stats["tracked_by_client"][client_id] == 2
    assert stats["tracked_by_type"] == {"goalCompleted": 1, "pageOpened": 1}


def test_it_fills_times_and_tab_id(client, exchanges, client_id):
    client.track(event({"type": "userSignedOut"}, client_id))
    body = json.loads(exchanges[0].request_body)
    assert body["departureTime"] >= body["originalTime"] > 1_600_000_000_000
    assert uuid.UUID(body["context"]["tabId"])
    assert body["payload"] == {"type": "userSignedOut"}


def test_fill_track_event_keeps_what_is_given():
    given = TrackEvent(
        payload={"type": "cartViewed"}, url="u", original_time=5, departure_time=7, tab_id="t"
    )
    assert fill_track_event(given, now_ms=100) == given
    filled = fill_track_event(
        TrackEvent(payload={"type": "cartViewed"}, url="u", original_time=150), now_ms=100
    )
    assert (filled.original_time, filled.departure_time) == (150, 150)


def test_it_sends_time_zone_and_metadata_in_the_context(client, exchanges, client_id):
    client.track(
        event({"type": "cartViewed"}, client_id, time_zone="Europe/Lisbon", metadata={"ab": "b"})
    )
    context = json.loads(exchanges[0].request_body)["context"]
    assert context["timeZone"] == "Europe/Lisbon"
    assert context["metadata"] == {"ab": "b"}


def test_it_renames_user_id_to_external_user_id_for_sign_ups(client, exchanges, client_id):
    client.track(event({"type": "userSignedUp", "userId": "user-0042"}, client_id))
    payload = json.loads(exchanges[0].request_body)["payload"]
    assert payload == {"type": "userSignedUp", "externalUserId": "user-0042"}


def test_it_tracks_for_a_user_token_alone(client, sandbox):
    client.track(
        TrackEvent(
            payload={"type": "userSignedIn", "externalUserId": "u"},
            url="https://x",
            user_token=client.user_token("u"),
        )
    )
    assert sandbox.app.stats()["tracked_events"] == 1


@pytest.mark.parametrize(
    ("payload", "path"),
    [
        ({"type": "madeUp"}, "payload.type"),
        ({"type": "goalCompleted", "goalId": "ab"}, "payload.goalId"),
        ({"type": "goalCompleted", "goalId": "-signup"}, "payload.goalId"),
        ({"type": "goalCompleted", "goalId": "signup", "value": -1}, "payload.value"),
        ({"type": "eventOccurred", "name": ""}, "payload.name"),
        ({"type": "eventOccurred", "name": "x", "details": {"k": "v" * 301}}, "payload.details.k"),
        (
            {"type": "eventOccurred", "name": "x", "details": {str(i): i for i in range(11)}},
            "payload.details",
        ),
        ({"type": "pageOpened"}, "payload.url"),
        ({"type": "userSignedUp"}, "payload.externalUserId"),
    ],
)
def test_it_refuses_invalid_payloads_before_sending(client, exchanges, client_id, payload, path):
    with pytest.raises(PayloadError) as caught:
        client.track(event(payload, client_id))
    assert caught.value.path == path
    assert exchanges == []


def test_the_sandbox_answers_invalid_payload_with_violations(http, client_id):
    body = {
        "originalTime": 1,
        "departureTime": 2,
        "context": {"tabId": str(uuid.uuid4()), "url": "https://x"},
        "payload": {"type": "goalCompleted", "goalId": "x", "value": -5},
    }
    headers = {"X-App-Id": http.app_id, "X-Client-Id": client_id}
    response = http.post("/client/web/track", json=body, headers=headers)
    assert response.status_code == 400
    problem = response.json()
    assert problem["type"] == "https://croct.help/api/event-tracking/invalid-payload"
    assert [v["path"] for v in problem["violations"]] == ["payload.goalId", "payload.value"]


def test_it_maps_sandbox_violations_into_problem_details(client, sandbox, client_id, monkeypatch):
    # Skip the client's own check to see how a server-side refusal comes back.
    monkeypatch.setattr("integrations.croct.payloads.prepare_track_payload", lambda p: dict(p))
    with pytest.raises(errors.InvalidRequest) as caught:
        client.track(event({"type": "pageOpened"}, client_id))
    problem = caught.value.problem
    assert problem.provider_code == "event-tracking/invalid-payload"
    assert problem.details == ({"path": "payload.url", "reason": "is required"},)


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "authentication/missing-public-id"),
        ({"X-App-Id": "nope"}, 401, "authentication/invalid-public-id"),
        (
            {"X-App-Id": "5f0c2a56-3d1b-4a8e-9c47-20000dead000"},
            401,
            "authentication/invalid-public-id",
        ),
    ],
)
def test_the_track_endpoint_checks_the_app_id(http, client_id, headers, status, code):
    response = http.post(
        "/client/web/track", json={}, headers={"X-Client-Id": client_id, **headers}
    )
    assert response.status_code == status
    assert response.json()["type"] == f"https://croct.help/api/{code}"


def test_a_rejected_app_id_is_an_auth_error(client, sandbox, client_id):
    sandbox.app.rejected_credentials = {client.app_id}
    with pytest.raises(errors.AuthError) as caught:
        client.track(event({"type": "cartViewed"}, client_id))
    assert caught.value.problem.provider_code == "authentication/invalid-public-id"


def test_it_raises_suspended_when_tracking_is_suspended(client, sandbox, client_id):
    sandbox.app.suspended = True
    with pytest.raises(errors.Suspended) as caught:
        client.track(event({"type": "cartViewed"}, client_id))
    assert caught.value.problem.detail == "tracking_and_personalization_suspended"
    assert sandbox.app.stats()["tracked_events"] == 0


def test_the_sandbox_caps_the_clients_it_counts_one_by_one(sandbox, client, monkeypatch):
    monkeypatch.setattr("integrations.croct.sandbox.MAX_TRACKED_CLIENTS", 2)
    for _ in range(4):
        client.track(event({"type": "cartViewed"}, str(uuid.uuid4())))
    stats = sandbox.app.stats()
    assert len(stats["tracked_by_client"]) == 2
    assert stats["tracked_other_clients"] == 2
    assert stats["tracked_events"] == 4


def test_concurrent_tracking_is_counted_exactly(client, sandbox):
    from concurrent.futures import ThreadPoolExecutor

    clients = [str(uuid.uuid4()) for _ in range(8)]

    def send(index):
        client.track(event({"type": "cartViewed"}, clients[index % 8]))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(send, range(200)))
    stats = sandbox.app.stats()
    assert stats["tracked_events"] == 200
    assert set(stats["tracked_by_client"].values()) == {25}

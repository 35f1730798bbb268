"""The emulator's own rules, seen over raw HTTP (what the client never sends)."""

from __future__ import annotations

import uuid

import pytest
import requests

from integrations.croct import tokens
from integrations.croct.sandbox import CroctSandbox, create_app

CONTENT = "/external/web/content"


def test_problems_are_served_as_problem_json_with_instance(http):
    response = http.post(CONTENT, json={"slotId": "nope"}, headers=http.external())
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["instance"] == CONTENT
    assert body["status"] == 404
    assert body["title"]


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({"X-Api-Key": None}, 401, "authentication/invalid-api-key"),
        ({"X-Api-Key": "abc"}, 401, "authentication/invalid-api-key"),
        (
            {"X-Api-Key": "9b1e7c4d-2a6f-4e8b-b3c5-70000dead048"},
            401,
            "authentication/unknown-api-key",
        ),
        ({"X-Client-Id": "not-a-uuid"}, 401, "authentication/invalid-client-id"),
        (
            {"X-Client-Id": "6ba7b810-9dad-11d1-80b4-00c04fd430c"},
            401,
            "authentication/invalid-client-id",
        ),
        ({"X-Client-Id": None, "X-Token": "a.b.c"}, 401, "authentication/invalid-token"),
        ({"X-Client-Id": None}, 400, "invalid-input"),
    ],
)
def test_content_checks_credentials_and_identity(http, headers, status, code):
    sent = {k: v for k, v in http.external(**headers).items() if v is not None}
    response = http.post(CONTENT, json={"slotId": "home-hero"}, headers=sent)
    assert response.status_code == status
    assert response.json()["type"] == f"https://croct.help/api/{code}"


def test_an_unsigned_token_alone_is_enough(http):
    token = tokens.encode_unsigned_token(http.app_id, "user-0001")
    response = http.post(
        CONTENT, json={"slotId": "home-hero"}, headers={"X-Api-Key": http.api_key, "X-Token": token}
    )
    assert response.status_code == 200


def test_a_non_json_content_type_is_invalid_input(http):
    response = http.post(
        CONTENT,
        data=b'{"slotId": "home-hero"}',
        headers={**http.external(), "Content-Type": "text/plain"},
    )
    assert response.status_code == 400
    assert "application/json" in response.json()["detail"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "slotId"),
        ({"slotId": "home-hero", "version": "v2"}, "version"),
        ({"slotId": "home-hero", "preferredLocale": "klingon-empire"}, "preferredLocale"),
        ({"slotId": "home-hero", "includeSchema": "yes"}, "includeSchema"),
        ({"slotId": "home-hero", "slot_id": "x"}, "slot_id"),
        ({"slotId": "home-hero", "context": {"timeZone": "Nowhere/City"}}, "context.timeZone"),
        ({"slotId": "home-hero", "context": {"page": {"title": "no url"}}}, "context.page.url"),
        (
            {"slotId": "home-hero", "context": {"attributes": {"k": "v" * 51}}},
            "context.attributes.k",
        ),
    ],
)
def test_content_bodies_are_validated(http, body, field):
    response = http.post(CONTENT, json=body, headers=http.external())
    assert response.status_code == 400
    assert field in response.json()["detail"]


def test_static_content_refuses_context(http):
    response = http.post(
        "/external/web/static-content",
        json={"slotId": "home-hero", "context": {}},
        headers={"X-Api-Key": http.api_key},
    )
    assert response.status_code == 400


def test_static_content_needs_no_client_headers(http):
    response = http.post(
        "/external/web/static-content",
        json={"slotId": "home-hero"},
        headers={"X-Api-Key": http.api_key},
    )
    assert response.status_code == 200


def test_the_client_side_content_endpoint_takes_the_app_id(http):
    response = http.post(
        "/client/web/content",
        json={"slotId": "home-hero"},
        headers={"X-App-Id": http.app_id, "X-Client-Id": str(uuid.uuid4())},
    )
    assert response.status_code == 200


def test_the_suspension_switch_answers_202_with_an_empty_body(http):
    assert requests.post(
        f"{http.url}/_sandbox/suspend", json={"suspended": True}, timeout=5
    ).json()["suspended"]
    response = http.post(CONTENT, json={"slotId": "home-hero"}, headers=http.external())
    assert response.status_code == 202
    assert response.content == b""
    assert response.headers["X-Suspension-Reason"] == "tracking_and_personalization_suspended"
    assert requests.delete(f"{http.url}/_sandbox/suspend", timeout=5).json()["suspended"] is False
    assert (
        http.post(CONTENT, json={"slotId": "home-hero"}, headers=http.external()).status_code == 200
    )


def test_other_control_paths_still_work(http):
    stats = requests.get(f"{http.url}/_sandbox/stats", timeout=5).json()
    assert {"requests", "content_requests", "tracked_events", "suspended"} <= set(stats)


def test_an_unknown_route_is_a_croct_404(http):
    response = http.get("/external/web/nothing", headers={"X-Api-Key": http.api_key})
    assert response.status_code == 404
    assert response.json()["type"].startswith("https://croct.help/api/")


def test_the_same_seed_gives_the_same_ids_and_another_seed_different_ones():
    def ids(app: CroctSandbox):
        hero = app.catalog.experiences["home-hero"]
        return [e.experience_id for e in hero], app.export.event(0)["id"]

    assert ids(create_app(seed=7)) == ids(create_app(seed=7))
    assert ids(create_app(seed=7)) != ids(create_app(seed=8))

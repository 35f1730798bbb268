"""The Octy emulator's own promises: seeding, quirks, stats, thread safety."""

from __future__ import annotations

import threading

import requests

from integrations.octy.sandbox import create_app
from integrations.octy.sandbox_store import ProfileStore


def get(url, path, auth, **headers):
    return requests.get(url + path, auth=auth, headers=headers, timeout=5)


def post(url, path, auth, body):
    return requests.post(url + path, json=body, auth=auth, timeout=5)


def test_it_seeds_the_same_profiles_for_the_same_seed():
    a, b, c = ProfileStore(7, 5000), ProfileStore(7, 5000), ProfileStore(8, 5000)
    assert a.seeded_profile(42) == b.seeded_profile(42)
    assert a.seeded_id(42) != c.seeded_id(42)


def test_it_maps_profile_ids_back_to_their_index():
    store = ProfileStore(7, 100_000)
    for index in (0, 1, 4999, 99_999):
        assert store.seeded_index(store.seeded_id(index)) == index
    assert store.seeded_index("profile_" + "0" * 16) is None
    assert store.seeded_index("profile_nothex") is None


def test_it_builds_a_100_000_profile_sandbox_without_storing_profiles():
    app = create_app(profile_count=100_000)
    assert app.store.size() == 100_000
    assert app.store.seeded_overlay == {}
    assert app.store.find("cust-100000")["customer_id"] == "cust-100000"
    assert app.store.find("cust-100001") is None


def test_every_success_carries_request_meta(url, auth):
    body = get(url, "profiles", auth, cursor="0").json()
    assert body["request_meta"]["request_status"] == "Success"
    assert body["request_meta"]["count"] == 100


def test_it_requires_ids_or_a_cursor(url, auth):
    response = get(url, "profiles", auth)
    assert response.status_code == 400
    assert response.json()["request_meta"]["request_status"] == "Failure"


def test_it_refuses_a_cursor_that_is_not_a_position(url, auth):
    assert get(url, "profiles", auth, cursor="abc").status_code == 400
    assert get(url, "profiles", auth, cursor="-1").status_code == 400


def test_it_answers_exhausted_cursors_with_a_400(url, auth):
    response = get(url, "profiles", auth, cursor="5000")
    assert response.status_code == 400
    assert "pagination cursor exhausted" in response.json()["error"]["reason"]


def test_it_refuses_more_than_100_ids(url, auth):
    ids = ",".join(f"cust-{i:05d}" for i in range(1, 102))
    assert (
        requests.get(url + "profiles", params={"ids": ids}, auth=auth, timeout=5).status_code == 400
    )


def test_it_refuses_batches_over_500(url, auth):
    profiles = [{"customer_id": f"c-{i}"} for i in range(501)]
    response = post(url, "profiles/create", auth, {"profiles": profiles})
    assert response.status_code == 400
    assert "at most 500" in response.json()["error"]["reason"]


def test_it_answers_201_with_partial_failures(url, auth):
    body = {"profiles": [{"customer_id": "ok-1"}, {"customer_id": "bad.id"},
                         {"customer_id": "ok-2", "profile_data": {"email": ""}}]}  # fmt: skip
    response = post(url, "profiles/create", auth, body)
    assert response.status_code == 201
    data = response.json()
    assert [p["customer_id"] for p in data["profiles"]] == ["ok-1"]
    assert [f["customer_id"] for f in data["failed_to_create"]] == ["bad.id", "ok-2"]


def test_it_validates_events_per_the_note(url, auth):
    profile_id = get(url, "profiles?ids=cust-00001", auth).json()["profiles"][0]["profile_id"]
    events = [
        {"event_type": "charged", "profile_id": profile_id, "event_properties": {"item_id": "i"}},
        {"event_type": "page_view", "profile_id": profile_id, "created_at": "2024-01-01"},
        {"event_type": "page view", "profile_id": profile_id},
        {"event_type": "signup", "profile_id": profile_id, "created_at": "2024-01-01 10:00:00"},
    ]
    data = post(url, "events/create/batch", auth, {"events": events}).json()
    assert len(data["created_events"]) == 1
    messages = [f["error_message"] for f in data["failed_to_create"]]
    assert "payment_method" in messages[0]
    assert "created_at" in messages[1]
    assert "space" in messages[2]


def test_it_counts_requests_per_endpoint(sandbox, url, auth):
    get(url, "profiles", auth, cursor="0")
    get(url, "segments", auth, cursor="0")
    stats = requests.get(sandbox.url + "/_sandbox/stats", timeout=5).json()
    assert stats["endpoints"]["GET profiles"] == 1
    assert stats["endpoints"]["GET segments"] == 1
    assert stats["events_created"] == 0


def test_it_forgets_writes_on_reset(sandbox, url, auth):
    post(url, "profiles/create", auth, {"profiles": [{"customer_id": "temp-1"}]})
    requests.post(sandbox.url + "/_sandbox/reset", timeout=5)
    assert get(url, "profiles?ids=temp-1", auth).status_code == 400


def test_it_creates_each_customer_once_under_concurrency(url, auth, sandbox):
    results = []

    def create(n):
        body = {"profiles": [{"customer_id": "race"}, {"customer_id": f"unique-{n}"}]}
        results.append(post(url, "profiles/create", auth, body).json())

    threads = [threading.Thread(target=create, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    created = [p["customer_id"] for r in results for p in r["profiles"]]
    assert created.count("race") == 1
    assert len(created) == 9
    assert sandbox.app.stats()["profiles_created"] == 9


def test_it_honours_the_credential_controls(sandbox, url, auth):
    requests.post(sandbox.url + "/_sandbox/credentials", json={"reject": [auth[1]]}, timeout=5)
    try:
        assert get(url, "segments", auth, cursor="0").status_code == 401
    finally:
        requests.delete(sandbox.url + "/_sandbox/credentials", timeout=5)
    assert get(url, "segments", auth, cursor="0").status_code == 200

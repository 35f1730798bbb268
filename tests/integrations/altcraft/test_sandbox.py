"""The emulator's own contract, spoken to with plain requests."""

import json
import threading
import time

import pytest
import requests

from integrations.altcraft import xmlcodec
from integrations.altcraft.sandbox import DEMO_SECRETS, DEMO_SETTINGS, create_app
from integrations.altcraft.sandbox_data import DedupMemory, seeded_id
from integrations.sandbox import serve

TOKEN = DEMO_SECRETS["token"]


def post(sandbox, method, body, *, raw=None, **headers):
    headers.setdefault("Content-Type", "application/json")
    data = raw if raw is not None else json.dumps(body).encode()
    return requests.post(
        f"{sandbox.url}/api/v1.1/profiles/{method}", data=data, headers=headers, timeout=5
    )


def test_the_demo_settings_and_token_work(sandbox):
    body = {"token": TOKEN, "db_id": int(DEMO_SETTINGS["db_id"]), "matching": "email"}
    answer = post(sandbox, "get", {**body, "email": "ada@example.com"}).json()
    assert answer["error"] == 0
    assert answer["error_text"] == "Successful operation"
    assert answer["profile"]["id"] == seeded_id(0)
    assert len(TOKEN) == 32
    assert int(TOKEN, 16) >= 0


@pytest.mark.parametrize(
    ("body", "headers", "code"),
    [
        ({"db_id": 1}, {}, 401),
        ({"token": "", "db_id": 1}, {}, 401),
        ({"token": "ffff0000deadffff", "db_id": 1}, {}, 401),
        ({"token": TOKEN}, {}, 450),
        ({"token": TOKEN, "db_id": "one"}, {}, 450),
        ({"token": TOKEN, "db_id": 99}, {}, 413),
        ({"token": TOKEN, "db_id": 1, "resource_id": 2}, {}, 413),
        ({"token": TOKEN, "db_id": 1, "limit": 1001}, {}, 450),
        ({"token": TOKEN, "db_id": 1, "from_id": "nope"}, {}, 450),
        ({"token": TOKEN, "db_id": 1}, {"Content-Type": "text/plain"}, 415),
    ],
)
def test_api_errors_are_http_200_with_the_code_in_the_body(sandbox, body, headers, code):
    response = post(sandbox, "list", body, **headers)
    assert response.status_code == 200
    assert response.json()["error"] == code
    assert response.json()["error_text"]


def test_a_bearer_header_or_query_token_is_accepted_too(sandbox):
    by_header = post(sandbox, "list", {"db_id": 1, "limit": 1}, Authorization=f"Bearer {TOKEN}")
    assert by_header.json()["error"] == 0
    by_query = requests.post(
        f"{sandbox.url}/api/v1.1/profiles/list?token={TOKEN}", json={"db_id": 1}, timeout=5
    )
    assert by_query.json()["error"] == 0


def test_unknown_methods_answer_501(sandbox):
    assert post(sandbox, "merge", {"token": TOKEN}).json()["error"] == 501
    response = requests.post(f"{sandbox.url}/api/v1.1/campaigns/list", json={}, timeout=5)
    assert response.json()["error"] == 501


def test_broken_bodies_answer_400(sandbox):
    assert post(sandbox, "list", None, raw=b"{not json").json()["error"] == 400
    assert post(sandbox, "list", None, raw=b"[1]").json()["error"] == 400
    xml = post(sandbox, "list", None, raw=b"<xml><token>", **{"Content-Type": "application/xml"})
    assert xmlcodec.decode(xml.content)["error"] == 400


def test_it_speaks_xml_when_asked_by_content_type_accept_or_format(sandbox):
    body = {"token": TOKEN, "db_id": 1, "limit": 2}
    as_xml = post(
        sandbox, "list", None, raw=xmlcodec.encode(body), **{"Content-Type": "application/xml"}
    )
    assert as_xml.headers["Content-Type"].startswith("application/xml")
    decoded = xmlcodec.decode(as_xml.content)
    assert decoded["error"] == 0
    assert decoded["profiles"][0]["_fname"] == "Ada"
    assert b"<fname>Ada</fname>" in as_xml.content
    by_accept = post(sandbox, "list", body, Accept="application/xml")
    assert by_accept.content.startswith(b"<?xml")
    by_param = post(sandbox, "list", {**body, "format": "xml"})
    assert by_param.content.startswith(b"<?xml")
    json_from_xml = post(
        sandbox,
        "list",
        None,
        raw=xmlcodec.encode(body),
        **{"Content-Type": "application/xml", "Accept": "application/json"},
    )
    assert json_from_xml.json()["error"] == 0


def test_seeded_profiles_are_deterministic():
    one, two = create_app(seed=3), create_app(seed=3)
    assert one.databases[1].page(None, 50) == two.databases[1].page(None, 50)
    assert create_app().profile_count == 3000
    profile = one.databases[1].get(seeded_id(41))
    assert profile["customer_id"] == "cust-00042"
    assert profile["phones"] == ["+15550000042"]
    assert one.databases[1].find("email", profile["email"]) == [seeded_id(41)]


def test_a_hundred_thousand_profiles_cost_nothing_until_used():
    started = time.perf_counter()
    app = create_app(profile_count=100_000)
    db = app.databases[1]
    last = seeded_id(99_999)
    assert db.find("customer_id", "cust-100000") == [last]
    assert [pid for pid, _ in db.page(seeded_id(99_997), 10)] == [seeded_id(99_998), last]
    assert time.perf_counter() - started < 1.0
    assert db.find("customer_id", "cust-100001") == []


def test_created_profiles_list_after_the_seeded_ones_and_deleted_ones_vanish():
    app = create_app(profile_count=3)
    db = app.databases[1]
    new = db.create({"email": "n@example.com"})
    db.delete(seeded_id(1))
    assert [pid for pid, _ in db.page(None, 10)] == [seeded_id(0), seeded_id(2), new]
    assert [pid for pid, _ in db.page(seeded_id(2), 10)] == [new]
    assert db.page(new, 10) == []
    assert db.alive == 3


def test_a_changed_email_is_found_by_its_new_value_only():
    db = create_app(profile_count=10).databases[1]
    db.update(seeded_id(0), {"email": "countess@example.com"})
    assert db.find("email", "ada@example.com") == []
    assert db.find("email", "countess@example.com") == [seeded_id(0)]


def test_a_repeat_within_the_ttl_is_not_applied_and_after_it_is():
    running = serve(create_app(profile_count=5, dedup_ttl=0.3))
    try:
        body = {"token": TOKEN, "db_id": 1, "matching": "email", "email": "ttl@example.com"}
        first = post(running, "add", body)
        repeat = post(running, "add", body)
        assert repeat.content == first.content
        assert repeat.headers["X-Duplicate-Request"] == "true"
        assert len(repeat.headers["X-Duplicate-Key"]) == 64
        time.sleep(0.35)
        late = post(running, "add", body)
        assert "X-Duplicate-Request" not in late.headers
        assert late.json()["error"] == 409  # applied again: the email now exists
    finally:
        running.stop()


def test_reads_are_never_deduplicated(sandbox):
    body = {"token": TOKEN, "db_id": 1, "limit": 1}
    post(sandbox, "list", body)
    assert "X-Duplicate-Request" not in post(sandbox, "list", body).headers


def test_the_request_id_header_makes_a_write_distinct(sandbox):
    body = {
        "token": TOKEN,
        "db_id": 1,
        "matching": "email",
        "email": "rid@example.com",
        "data": {"n": "1"},
    }
    post(sandbox, "import", body, **{"X-Request-ID": "1"})
    assert (
        "X-Duplicate-Request" not in post(sandbox, "import", body, **{"X-Request-ID": "2"}).headers
    )
    assert post(sandbox, "import", body, **{"X-Request-ID": "2"}).headers["X-Duplicate-Request"]


def test_concurrent_identical_writes_are_applied_once(sandbox):
    body = {"token": TOKEN, "db_id": 1, "matching": "email", "email": "race@example.com"}
    answers = []

    def send():
        answers.append(post(sandbox, "add", body))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {a.json()["error"] for a in answers} == {0}
    assert sum("X-Duplicate-Request" in a.headers for a in answers) == 7
    assert sandbox.app.stats()["created"] == 1


def test_dedup_memory_is_bounded_by_entries_and_bytes():
    memory = DedupMemory(max_entries=3, max_bytes=10)
    for n in range(5):
        memory.remember(f"k{n}", 200, "application/json", b"12")
    assert len(memory) == 3
    assert memory.recall("k0") is None
    assert memory.recall("k4")
    memory.remember("big", 200, "application/json", b"x" * 9)
    assert len(memory) == 1
    assert memory.recall("big")


def test_stats_and_reset_over_http(sandbox):
    post(
        sandbox, "add", {"token": TOKEN, "db_id": 1, "matching": "email", "email": "s@example.com"}
    )
    stats = requests.get(f"{sandbox.url}/_sandbox/stats", timeout=5).json()
    assert stats["created"] == 1
    assert stats["profiles"] == 251
    assert stats["dedup_keys"] == 1
    assert stats["calls.add"] == 1
    requests.post(f"{sandbox.url}/_sandbox/reset", timeout=5)
    stats = requests.get(f"{sandbox.url}/_sandbox/stats", timeout=5).json()
    assert stats["profiles"] == 250
    assert stats["dedup_keys"] == 0


def test_injected_faults_keep_their_http_status_and_the_altcraft_body(sandbox):
    response = post(
        sandbox,
        "list",
        {"token": TOKEN, "db_id": 1},
        **{"X-Sandbox-Fault": '{"kind": "status", "status": 502}'},
    )
    assert response.status_code == 502
    assert response.json()["error"] == 502

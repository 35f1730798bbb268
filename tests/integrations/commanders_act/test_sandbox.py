import json

import pytest
import requests
from werkzeug.test import Client

from integrations.commanders_act.payloads import BATCH_LIMIT_BYTES, EVENT_LIMIT_BYTES
from integrations.commanders_act.sandbox import DEMO_SECRETS, create_app
from integrations.http import encode_json
from tests.integrations.commanders_act.samples import make_event, sized_event

JSON = {"Content-Type": "application/json"}
BEARER = {**JSON, "Authorization": f"Bearer {DEMO_SECRETS['source_key']}"}


def post(sandbox, path, body, headers=BEARER, params=None):
    data = body if isinstance(body, bytes) else encode_json(body)
    return requests.post(
        f"{sandbox.url}{path}",
        data=data,
        headers=headers,
        params=params or {"tc_s": "1234"},
        timeout=5,
    )


def batch_body(events):
    return encode_json({"batch": events})


def test_it_accepts_the_token_as_a_query_parameter(sandbox):
    params = {"tc_s": "1234", "token": DEMO_SECRETS["source_key"]}
    response = post(sandbox, "/events", make_event("q"), headers=JSON, params=params)
    assert response.status_code == 200
    assert sandbox.app.delivery_count("q") == 1
    assert sandbox.app.stats()["token_in_query_requests"] == 1


def test_it_answers_200_without_any_token_and_drops_the_event(sandbox):
    response = post(sandbox, "/events", make_event("anon"), headers=JSON)
    assert (response.status_code, response.content) == (200, b"")
    stats = sandbox.app.stats()
    assert (stats["rejected_token_requests"], stats["events"]) == (1, 0)


def test_it_answers_200_to_an_invalid_event_and_counts_it(sandbox):
    assert post(sandbox, "/events", {"whatever": 1}).status_code == 200
    assert post(sandbox, "/events", {"event_name": "x", "properties": {}}).status_code == 200
    stats = sandbox.app.stats()
    assert (stats["invalid_events"], stats["v1_events"]) == (1, 1)


def test_it_answers_a_bare_400_to_invalid_json(sandbox):
    response = post(sandbox, "/events", b'{"event_name": ')
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("text/plain")
    assert len(response.content) < 40


def test_it_answers_a_bare_400_to_a_body_over_32_kb(sandbox):
    assert post(sandbox, "/events", sized_event(EVENT_LIMIT_BYTES)).status_code == 200
    response = post(sandbox, "/events", sized_event(EVENT_LIMIT_BYTES + 1))
    assert (response.status_code, response.content) == (400, b"")


def test_it_refuses_a_request_without_tc_s(sandbox):
    # [guess] in providers/commanders-act.md terms: tc_s is required, the answer is not documented.
    assert post(sandbox, "/events", make_event(), params={"x": "1"}).status_code == 400


def test_it_refuses_a_body_that_is_not_declared_as_json(sandbox):
    headers = {**BEARER, "Content-Type": "text/plain"}
    assert post(sandbox, "/events", make_event(), headers=headers).status_code == 400
    headers = {**BEARER, "Content-Type": "application/json; charset=utf-8"}
    assert post(sandbox, "/events", make_event(), headers=headers).status_code == 200


def test_it_refuses_a_batch_over_500_kb(sandbox):
    events = [sized_event(25 * 1024, f"e{i}") for i in range(20)]
    assert len(batch_body(events)) > BATCH_LIMIT_BYTES
    assert post(sandbox, "/events/batch", batch_body(events)).status_code == 400
    assert post(sandbox, "/events/batch", batch_body(events[:19])).status_code == 200
    assert sandbox.app.stats()["events"] == 19


@pytest.mark.parametrize("spaced", [False, True])
def test_it_refuses_a_batch_holding_one_event_over_32_kb(sandbox, spaced):
    events = [make_event("a"), sized_event(EVENT_LIMIT_BYTES + 1, "big")]
    body = json.dumps({"batch": events}).encode() if spaced else batch_body(events)
    assert post(sandbox, "/events/batch", body).status_code == 400
    events[1] = sized_event(EVENT_LIMIT_BYTES, "edge")
    assert post(sandbox, "/events/batch", batch_body(events)).status_code == 200
    assert sandbox.app.delivery_count("edge") == 1


def test_it_measures_batch_events_in_utf8_bytes(sandbox):
    wide = make_event("wide", pad="é" * (EVENT_LIMIT_BYTES // 2))
    body = batch_body([make_event("a"), wide])
    assert post(sandbox, "/events/batch", body).status_code == 400


@pytest.mark.parametrize(
    "body",
    [b'{"batch": [1, 2,]}', b'{"events": []}', b"[]", b'{"batch": {}}', b'{"batch": [{}] '],
)
def test_it_refuses_a_malformed_batch(sandbox, body):
    assert post(sandbox, "/events/batch", body).status_code == 400


def test_it_reads_a_batch_with_other_keys_or_spacing(sandbox):
    body = b' { "note" : 1, "batch" : [ {"context": {"event_id": "x"}} , {} ] } '
    assert post(sandbox, "/events/batch", body).status_code == 200
    assert post(sandbox, "/events/batch", b'{"batch": []}').status_code == 200
    assert sandbox.app.stats()["events"] == 2


def test_it_counts_deliveries_per_event_id(sandbox):
    post(sandbox, "/events", make_event("dup"))
    post(sandbox, "/events/batch", batch_body([make_event("dup"), make_event("once")]))
    answer = requests.get(f"{sandbox.url}/_sandbox/events", params={"event_id": "dup"}, timeout=5)
    assert answer.json() == {"event_id": "dup", "deliveries": 2}
    summary = requests.get(f"{sandbox.url}/_sandbox/events", params={"limit": 2}, timeout=5).json()
    assert summary["duplicate_deliveries"] == 1
    assert summary["events"] == 3
    assert [e["event"]["context"]["event_id"] for e in summary["recent"]] == ["dup", "once"]
    assert requests.get(f"{sandbox.url}/_sandbox/stats", timeout=5).json()["batches"] == 1


def test_reset_clears_the_record(sandbox):
    post(sandbox, "/events", make_event("gone"))
    requests.post(f"{sandbox.url}/_sandbox/reset", timeout=5)
    assert sandbox.app.delivery_count("gone") == 0
    assert sandbox.app.stats()["events"] == 0
    post(sandbox, "/events", make_event("gone"))
    requests.delete(f"{sandbox.url}/_sandbox/events", timeout=5)
    assert sandbox.app.recent_events() == []


def test_its_memory_stays_bounded():
    app = create_app(recent_limit=5, max_tracked_ids=10)
    events = [make_event(f"e{i}") for i in range(30)]
    Client(app).post("/events/batch?tc_s=1", data=batch_body(events), headers=BEARER)
    assert len(app.recent_events()) == 5
    stats = app.stats()
    assert (stats["tracked_event_ids"], stats["forgotten_event_ids"]) == (10, 20)
    assert app.delivery_count("e29") == 1


def test_injected_errors_are_bare(sandbox):
    headers = {**BEARER, "X-Sandbox-Fault": "rate_limit"}
    response = post(sandbox, "/events", make_event(), headers=headers)
    assert (response.status_code, response.text) == (429, "Too Many Requests")
    assert response.headers["Retry-After"] == "1"


def test_a_malformed_answer_still_takes_the_events(sandbox):
    # The API's 200 has no body a client reads: a garbled one follows a real delivery.
    headers = {**BEARER, "X-Sandbox-Fault": "malformed"}
    response = post(sandbox, "/events/batch", batch_body([make_event("m1")]), headers=headers)
    assert response.status_code == 200
    assert response.content.startswith(b'{"truncated"')
    assert sandbox.app.delivery_count("m1") == 1
    # A request the API refuses stays refused.
    assert post(sandbox, "/events", b'{"event_name": ', headers=headers).status_code == 400
    assert sandbox.app.stats()["events"] == 1


def test_an_unknown_path_or_method_gets_a_bare_error(sandbox):
    assert requests.get(f"{sandbox.url}/events", timeout=5).status_code == 405
    assert post(sandbox, "/v1/events", make_event()).status_code == 404

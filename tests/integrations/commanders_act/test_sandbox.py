import json

import pytest
import requests
from werkzeug.test import Client

from integrations.commanders_act.sandbox import DEMO_SECRETS, create_app
from integrations.http import encode_json
from tests.integrations.commanders_act.samples import make_event, sized_event

# The document's numbers, written here rather than imported from the client: the
# sandbox must hold to the document even if the client misreads it.
DOC_EVENT_LIMIT = 32_000
DOC_BATCH_LIMIT = 500_000
JSON = {"Content-Type": "application/json"}
BEARER = {**JSON, "Authorization": f"Bearer {DEMO_SECRETS['source_key']}"}
V2 = {"tc_s": "1234", "token": DEMO_SECRETS["source_key"]}
OTHER_SOURCE = "OtherSourceKeyNotInTheBeta=="


def post(sandbox, path, body, headers=JSON, params=None):
    data = body if isinstance(body, bytes) else encode_json(body)
    return requests.post(
        f"{sandbox.url}{path}",
        data=data,
        headers=headers,
        params=V2 if params is None else params,
        timeout=5,
    )


def dropped(sandbox):
    return requests.get(f"{sandbox.url}/_sandbox/dropped", timeout=5).json()["dropped"]


def batch_body(events):
    return encode_json({"batch": events})


def test_it_delivers_a_request_carrying_tc_s_and_token(sandbox):
    """contract: Commanders Act / token query parameter"""
    response = post(sandbox, "/events", make_event("q"))
    assert response.status_code == 200
    assert sandbox.app.delivery_count("q") == 1
    assert dropped(sandbox) == []


def test_a_request_without_token_is_answered_200_and_dropped(sandbox):
    """contract: Commanders Act / request without token dropped with a 200"""
    response = post(sandbox, "/events", make_event("anon"), params={"tc_s": "1234"})
    assert (response.status_code, response.content) == (200, b"")
    assert sandbox.app.delivery_count("anon") == 0
    (record,) = dropped(sandbox)
    assert record["reason"] == "no token query parameter"
    assert (record["events"], record["event_ids"]) == (1, ["anon"])
    assert sandbox.app.stats()["no_token_requests"] == 1


def test_a_v1_bearer_header_does_not_authenticate_a_v2_request(sandbox):
    """contract: Commanders Act / Authorization Bearer is the deprecated v1 scheme"""
    response = post(sandbox, "/events", make_event("bearer"), headers=BEARER, params={"tc_s": "1"})
    assert response.status_code == 200
    assert sandbox.app.delivery_count("bearer") == 0
    assert dropped(sandbox)[0]["reason"] == "no token query parameter"
    assert sandbox.app.stats()["bearer_only_requests"] == 1


def test_a_request_without_tc_s_is_answered_200_and_dropped(sandbox):
    """contract: Commanders Act / tc_s query parameter"""
    params = {"token": DEMO_SECRETS["source_key"]}
    assert post(sandbox, "/events", make_event("nosite"), params=params).status_code == 200
    assert sandbox.app.delivery_count("nosite") == 0
    assert dropped(sandbox)[0]["reason"] == "no tc_s query parameter"


def test_a_rejected_token_is_answered_200_and_dropped(sandbox):
    """contract: Commanders Act / 200 for every request"""
    params = {"tc_s": "1234", "token": "key-0000dead"}
    assert post(sandbox, "/events", make_event("bad-key"), params=params).status_code == 200
    assert dropped(sandbox)[0]["reason"] == "token not accepted"
    assert sandbox.app.stats()["rejected_token_requests"] == 1


def test_it_answers_200_to_an_invalid_event_and_counts_it(sandbox):
    assert post(sandbox, "/events", {"whatever": 1}).status_code == 200
    assert post(sandbox, "/events", {"event_name": "x", "properties": {}}).status_code == 200
    stats = sandbox.app.stats()
    assert (stats["invalid_events"], stats["v1_events"]) == (1, 1)


def test_it_answers_a_bare_400_to_invalid_json(sandbox):
    """contract: Commanders Act / 400 for a request too large or with invalid JSON"""
    response = post(sandbox, "/events", b'{"event_name": ')
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("text/plain")
    assert len(response.content) < 40


def test_it_answers_a_bare_400_to_an_event_of_32001_bytes(sandbox):
    """contract: Commanders Act / 32 KB per request (32,000 bytes)"""
    assert post(sandbox, "/events", sized_event(DOC_EVENT_LIMIT, "edge")).status_code == 200
    response = post(sandbox, "/events", sized_event(DOC_EVENT_LIMIT + 1))
    assert (response.status_code, response.content) == (400, b"")
    assert sandbox.app.delivery_count("edge") == 1


def test_a_body_not_declared_as_json_is_answered_200_and_dropped(sandbox):
    """contract: Commanders Act / Content-Type application/json"""
    headers = {"Content-Type": "text/plain"}
    assert post(sandbox, "/events", make_event("txt"), headers=headers).status_code == 200
    assert dropped(sandbox)[0]["reason"] == "Content-Type is not application/json"
    headers = {"Content-Type": "application/json; charset=utf-8"}
    assert post(sandbox, "/events", make_event("utf8"), headers=headers).status_code == 200
    assert sandbox.app.delivery_count("utf8") == 1


def test_it_refuses_a_batch_over_500000_bytes(sandbox):
    """contract: Commanders Act / 500 KB per batch request (500,000 bytes)"""
    events = [sized_event(25_000, f"e{i}") for i in range(20)]
    body = batch_body(events)
    assert len(body) > DOC_BATCH_LIMIT
    assert post(sandbox, "/events/batch", body).status_code == 400
    assert post(sandbox, "/events/batch", batch_body(events[:19])).status_code == 200
    assert sandbox.app.stats()["events"] == 19


def test_it_takes_a_batch_of_exactly_500000_bytes(sandbox):
    """contract: Commanders Act / 500 KB per batch request (500,000 bytes)"""
    events = [sized_event(25_000, f"f{i}") for i in range(19)]
    filler = DOC_BATCH_LIMIT - len(batch_body(events)) - 1
    events.append(sized_event(filler, "last"))
    assert len(batch_body(events)) == DOC_BATCH_LIMIT
    assert post(sandbox, "/events/batch", batch_body(events)).status_code == 200
    assert sandbox.app.delivery_count("last") == 1


@pytest.mark.parametrize("spaced", [False, True])
def test_it_refuses_a_batch_holding_one_event_of_32001_bytes(sandbox, spaced):
    """contract: Commanders Act / 32 KB per event in a batch (32,000 bytes)"""
    events = [make_event("a"), sized_event(DOC_EVENT_LIMIT + 1, "big")]
    body = json.dumps({"batch": events}).encode() if spaced else batch_body(events)
    assert post(sandbox, "/events/batch", body).status_code == 400
    events[1] = sized_event(DOC_EVENT_LIMIT, "edge")
    assert post(sandbox, "/events/batch", batch_body(events)).status_code == 200
    assert sandbox.app.delivery_count("edge") == 1


def test_a_batch_from_a_source_outside_the_beta_is_refused(sandbox):
    """contract: Commanders Act / batch endpoint is a closed beta"""
    params = {"tc_s": "1234", "token": OTHER_SOURCE}
    body = batch_body([make_event("nb")])
    # The doc does not say how the refusal looks: the sandbox varies it.
    statuses = [post(sandbox, "/events/batch", body, params=params).status_code for _ in range(2)]
    assert sorted(statuses) == [403, 404]
    assert sandbox.app.stats()["batch_not_in_beta"] == 2
    # The same source may still send single events.
    assert post(sandbox, "/events", make_event("nb"), params=params).status_code == 200
    assert sandbox.app.delivery_count("nb") == 1
    # Admitted to the beta through the control API, its batch is taken.
    requests.post(f"{sandbox.url}/_sandbox/batch_beta", json={"add": [OTHER_SOURCE]}, timeout=5)
    assert post(sandbox, "/events/batch", body, params=params).status_code == 200
    assert sandbox.app.delivery_count("nb") == 2


def test_it_measures_batch_events_in_utf8_bytes(sandbox):
    wide = make_event("wide", pad="é" * (DOC_EVENT_LIMIT // 2))
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
    token = DEMO_SECRETS["source_key"]
    Client(app).post(f"/events/batch?tc_s=1&token={token}", data=batch_body(events), headers=JSON)
    assert len(app.recent_events()) == 5
    stats = app.stats()
    assert (stats["tracked_event_ids"], stats["forgotten_event_ids"]) == (10, 20)
    assert app.delivery_count("e29") == 1


def test_injected_errors_are_bare(sandbox):
    headers = {**JSON, "X-Sandbox-Fault": "rate_limit"}
    response = post(sandbox, "/events", make_event(), headers=headers)
    assert (response.status_code, response.text) == (429, "Too Many Requests")
    assert response.headers["Retry-After"] == "1"


def test_a_malformed_answer_still_takes_the_events(sandbox):
    # The API's 200 has no body a client reads: a garbled one follows a real delivery.
    headers = {**JSON, "X-Sandbox-Fault": "malformed"}
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

import json

import pytest
from requests.structures import CaseInsensitiveDict

from integrations import errors
from integrations.commanders_act import PROVIDER
from integrations.commanders_act.payloads import (
    BATCH_LIMIT_BYTES,
    EVENT_LIMIT_BYTES,
    PayloadError,
    fill_defaults,
    pack_batches,
)
from integrations.commanders_act.problems import BAD_REQUEST_DETAIL, problem_for
from integrations.commanders_act.sandbox import DEMO_SECRETS, DEMO_SETTINGS, create_app
from integrations.http import ProviderResponse
from integrations.sandbox import Fault, serve
from tests.integrations.commanders_act.samples import make_event, sized_event


def fault_header(kind="status", **fields):
    return {"default_headers": {"X-Sandbox-Fault": json.dumps({"kind": kind, **fields})}}


def test_it_sends_one_event_to_events_with_tc_s_and_token_in_the_query(client, sandbox, exchanges):
    """contract: Commanders Act / POST /events
    contract: Commanders Act / tc_s query parameter
    contract: Commanders Act / token query parameter"""
    result = client.send_event(make_event("one"))

    assert result.status == 200
    assert result.accepted == 1
    assert result.event_ids == ("one",)
    assert sandbox.app.delivery_count("one") == 1
    assert sandbox.app.recent_events()[-1]["site_id"] == "1234"
    assert sandbox.app.dropped_requests() == []
    (exchange,) = exchanges
    assert exchange.operation == "commanders_act.event"
    assert exchange.url.endswith("/events?tc_s=1234&token=[REDACTED]")


def test_it_sends_no_bearer_header(client, sandbox, exchanges):
    """contract: Commanders Act / Authorization Bearer is the deprecated v1 scheme"""
    client.send_event(make_event("nb"))
    client.send_batch([make_event("nb2")])
    client.send_encoded([b'{"event_name":"x","user":{},"context":{"event_id":"nb3"}}'])
    assert len(exchanges) == 3
    for exchange in exchanges:
        assert "Authorization" not in exchange.request_headers
        assert exchange.request_headers["Content-Type"] == "application/json"
        assert "tc_s=1234&token=[REDACTED]" in exchange.url
    assert sandbox.app.stats()["events"] == 3


def test_a_200_is_reported_as_accepted_not_delivered(client):
    """contract: Commanders Act / 200 for every request"""
    result = client.send_event(make_event("acc"))
    assert result.outcome == "accepted"
    assert "event inspector" in result.note
    assert "deliver" not in result.note.lower()


def test_it_sends_the_timestamp_as_an_integer_even_when_given_a_string(client, sandbox):
    """contract: Commanders Act / event_timestamp in epoch milliseconds"""
    event = make_event("ts")
    event["context"]["event_timestamp"] = "1639044446636"
    client.send_event(event)
    received = sandbox.app.recent_events()[-1]["event"]
    assert received["context"]["event_timestamp"] == 1639044446636


def test_a_source_in_the_beta_sends_a_batch_body(client, sandbox, exchanges):
    """contract: Commanders Act / POST /events/batch"""
    events = [make_event(f"b{i}") for i in range(3)]
    result = client.send_batch(events)

    assert (result.accepted, result.event_ids) == (3, ("b0", "b1", "b2"))
    assert exchanges[0].url.endswith("/events/batch?tc_s=1234&token=[REDACTED]")
    assert sandbox.app.stats()["batches"] == 1
    assert [e["event"] for e in sandbox.app.recent_events()] == events


def test_a_source_outside_the_beta_never_calls_the_batch_endpoint(make_client, exchanges):
    """contract: Commanders Act / batch endpoint is a closed beta"""
    client = make_client(settings={"site_id": "1234"})  # batch_beta left at its default
    assert client.batch_beta is False
    with pytest.raises(errors.ConfigurationError, match="batch beta"):
        client.send_batch([make_event("x")])
    with pytest.raises(errors.ConfigurationError):
        client.send_encoded([b"{}", b"{}"])
    assert exchanges == []
    # One event is still one request to /events.
    client.send_encoded([b'{"event_name":"x","user":{},"context":{"event_id":"solo"}}'])
    assert exchanges[0].operation == "commanders_act.event"


def test_a_batch_refused_by_the_api_names_the_beta(make_client):
    """contract: Commanders Act / batch endpoint is a closed beta"""
    # The account says "in the beta" but Commanders Act has not admitted the source;
    # the sandbox answers such batches 403 and 404 in turn (the doc says neither).
    secrets = {"source_key": "SourceKeyOutsideTheBeta=="}
    client = make_client(secrets=secrets, settings={"site_id": "1234", "batch_beta": "yes"})
    seen = []
    for _ in range(2):
        with pytest.raises(errors.ConfigurationError) as caught:
            client.send_batch([make_event("x")])
        problem = caught.value.problem
        assert problem.retryable is False
        assert "batch beta" in problem.detail
        seen.append(problem.status)
    assert sorted(seen) == [403, 404]


def test_many_events_packed_into_batches_arrive_exactly_once(client, sandbox):
    events = [
        fill_defaults(make_event(None, search_term="x" * 300), now_ms=1700000000000)
        for _ in range(5000)
    ]
    batches = list(pack_batches(events))
    for batch in batches:
        client.send_batch(batch)
    stats = sandbox.app.stats()
    assert stats["events"] == 5000
    assert stats["duplicate_deliveries"] == 0
    assert stats["batches"] == len(batches) == 5  # ~400 bytes an event, 500 KB a body
    assert all(sandbox.app.delivery_count(e["context"]["event_id"]) == 1 for e in events[::97])


def test_an_event_of_exactly_32000_bytes_is_sent_and_accepted(client, sandbox):
    """contract: Commanders Act / 32 KB per request (32,000 bytes)"""
    assert EVENT_LIMIT_BYTES == 32_000
    client.send_event(sized_event(32_000, "edge"))
    assert sandbox.app.delivery_count("edge") == 1


def test_it_refuses_an_oversize_event_before_sending(client, sandbox, exchanges):
    """contract: Commanders Act / 32 KB per request (32,000 bytes)"""
    with pytest.raises(PayloadError, match="32,000 bytes"):
        client.send_event(sized_event(EVENT_LIMIT_BYTES + 1))
    assert exchanges == []
    assert sandbox.app.request_count == 0


def test_it_refuses_a_v1_payload_before_sending(client, exchanges):
    """contract: Commanders Act / never send v1"""
    with pytest.raises(PayloadError, match="v1"):
        client.send_event({"event_name": "x", "properties": {"user": {}}})
    assert exchanges == []


def test_it_refuses_an_oversize_batch_before_sending(client, exchanges):
    """contract: Commanders Act / 500 KB per batch request (500,000 bytes)"""
    assert BATCH_LIMIT_BYTES == 500_000
    events = [sized_event(30_000, f"e{i}") for i in range(17)]  # 510,000+ bytes
    with pytest.raises(PayloadError, match="500,000 bytes"):
        client.send_batch(events)
    assert exchanges == []


def test_it_names_the_bad_event_of_a_batch(client, exchanges):
    events = [make_event("ok"), sized_event(EVENT_LIMIT_BYTES + 1)]
    with pytest.raises(PayloadError, match=r"^batch\[1\]\.event: .*32,000 bytes"):
        client.send_batch(events)
    bad = make_event("bad", currency="euro")
    with pytest.raises(PayloadError) as caught:
        client.send_batch([make_event("ok"), bad])
    assert caught.value.path == "batch[1].currency"
    assert exchanges == []


def test_it_refuses_an_empty_batch(client):
    with pytest.raises(PayloadError, match="empty"):
        client.send_batch([])


def test_it_reports_the_bare_400_of_a_stricter_api_as_an_invalid_request(exchanges):
    """contract: Commanders Act / 400 for a request too large or with invalid JSON"""
    # The emulator is made stricter than the client so a valid event meets the
    # real API's empty-bodied 400 ("request too large").
    strict = serve(create_app(event_limit_bytes=100))
    try:
        client = PROVIDER.build_client(
            base_url=strict.url, settings=DEMO_SETTINGS, secrets=DEMO_SECRETS, hook=exchanges.append
        )
        with pytest.raises(errors.InvalidRequest) as caught:
            client.send_event(make_event(pad="x" * 200))
    finally:
        strict.stop()
    problem = caught.value.problem
    assert (problem.status, problem.raw_body, problem.retryable) == (400, "", False)
    assert problem.detail == BAD_REQUEST_DETAIL
    assert problem.details[0]["request_bytes"] > 100
    assert exchanges[0].problem == problem


def test_it_reports_a_400_with_a_short_text_body_as_an_invalid_request(make_client):
    client = make_client(**fault_header(status=400))
    with pytest.raises(errors.InvalidRequest) as caught:
        client.send_event(make_event())
    assert caught.value.problem.raw_body == "Bad Request"
    assert "32,000 bytes" in caught.value.problem.detail


@pytest.mark.parametrize("status", [401, 403])
def test_it_maps_an_unexpected_401_or_403_to_auth(make_client, status):
    client = make_client(**fault_header(status=status))
    with pytest.raises(errors.AuthError) as caught:
        client.send_event(make_event())
    assert caught.value.problem.kind == errors.AUTH
    assert not caught.value.retryable


def test_it_treats_429_as_transient_and_reads_retry_after(make_client):
    """contract: Commanders Act / no hard rate limit; 429 and 5xx transient"""
    client = make_client(**fault_header("rate_limit", retry_after=7))
    with pytest.raises(errors.RateLimited) as caught:
        client.send_batch([make_event()])
    assert caught.value.retryable
    assert caught.value.retry_after == 7


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, errors.ProviderUnavailable),
        (503, errors.ProviderUnavailable),
        (504, errors.ProviderTimeout),
    ],
)
def test_it_treats_5xx_as_transient(make_client, status, error):
    """contract: Commanders Act / no hard rate limit; 429 and 5xx transient"""
    client = make_client(**fault_header(status=status))
    with pytest.raises(error) as caught:
        client.send_event(make_event())
    assert caught.value.retryable
    assert caught.value.problem.status == status


def test_a_503_fault_set_on_the_emulator_is_transient(sandbox, client):
    sandbox.app.faults.add(Fault(kind="status", status=503, count=1))
    with pytest.raises(errors.ProviderUnavailable) as caught:
        client.send_event(make_event())
    assert caught.value.retryable
    assert caught.value.retry_after is None  # no Retry-After: the caller's backoff decides
    assert client.send_event(make_event()).status == 200


def test_it_reads_retry_after_on_a_503():
    response = ProviderResponse(503, CaseInsensitiveDict({"Retry-After": "12"}), b"")
    problem = problem_for(response)
    assert (problem.kind, problem.retryable, problem.retry_after) == (errors.UNAVAILABLE, True, 12)


@pytest.mark.parametrize(
    ("status", "kind"), [(404, errors.NOT_FOUND), (418, errors.INVALID_REQUEST)]
)
def test_it_maps_other_statuses_by_class(make_client, status, kind):
    client = make_client(**fault_header(status=status))
    with pytest.raises(errors.ProviderError) as caught:
        client.send_event(make_event())
    assert caught.value.problem.kind == kind
    assert "never mentions" in caught.value.problem.detail


def test_a_200_with_any_body_is_success(make_client):
    client = make_client(**fault_header("malformed"))
    assert client.send_event(make_event()).status == 200


def test_a_rejected_key_still_gets_200_and_the_event_is_silently_dropped(make_client, sandbox):
    """contract: Commanders Act / 200 for every request"""
    # providers/commanders-act.md: 200 for every request; nothing proves the key.
    client = make_client(secrets={"source_key": "NJtc0000deadKaoCYu=="})
    assert client.send_event(make_event("lost")).status == 200
    stats = sandbox.app.stats()
    assert stats["rejected_token_requests"] == 1
    assert stats["dropped_events"] == 1
    assert sandbox.app.delivery_count("lost") == 0


def test_a_dropped_connection_is_a_retryable_transport_error(make_client):
    client = make_client(**fault_header("reset"))
    with pytest.raises(errors.ProviderError) as caught:
        client.send_event(make_event())
    assert caught.value.retryable


def test_no_exchange_field_holds_the_source_key(make_client, exchanges, sandbox):
    secret = DEMO_SECRETS["source_key"]
    client = make_client()
    client.send_event(make_event("a", note=f"user pasted {secret} here"))
    client.send_batch([make_event("b"), make_event("c")])
    with pytest.raises(errors.RateLimited):
        make_client(**fault_header("rate_limit")).send_event(make_event())
    assert len(exchanges) == 3
    for exchange in exchanges:
        for value in vars(exchange).values():
            assert secret not in repr(value)
    assert sandbox.app.delivery_count("a") == 1

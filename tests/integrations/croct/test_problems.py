"""Error mapping per status class, faults, malformed bodies and redaction."""

from __future__ import annotations

import dataclasses
import json
import uuid

import pytest
from requests.structures import CaseInsensitiveDict

from integrations import errors
from integrations.croct import PROVIDER, problems
from integrations.croct.client import ContentRequest, TrackEvent
from integrations.croct.sandbox import DEMO_SETTINGS
from integrations.http import ProviderResponse
from integrations.sandbox import Fault

SIGNED_KEY = (
    "9b1e7c4d-2a6f-4e8b-b3c5-7d9a0f1e2c48:ES256;"
    "TUlHSEFnRUFNQk1HQnlxR1NNNDlBZ0VHQ0NxR1NNNDlBd0VIQkcwd2F3SUJBUVFn"
)


def answer(status, body=b"", **headers):
    return ProviderResponse(status=status, headers=CaseInsensitiveDict(headers), body=body)


def problem_body(code, status, **extra):
    return json.dumps(
        {"type": f"https://croct.help/api/{code}", "title": "T", "status": status, **extra}
    ).encode()


@pytest.mark.parametrize(
    ("status", "code", "kind", "retryable"),
    [
        (400, "invalid-input", errors.INVALID_REQUEST, False),
        (401, "authentication/unknown-api-key", errors.AUTH, False),
        (403, "authorization/forbidden", errors.AUTH, False),
        (404, "content/slot-not-found", errors.NOT_FOUND, False),
        (422, "evaluation/invalid-query", errors.INVALID_REQUEST, False),
        (423, "quota-exceeded", errors.QUOTA, False),
        (429, "rate-limit-exceeded", errors.RATE_LIMITED, True),
        (500, "internal-error", errors.UNAVAILABLE, True),
        (503, "service-unavailable", errors.UNAVAILABLE, True),
    ],
)
def test_it_maps_each_status_class(status, code, kind, retryable):
    problem = problems.problem_from_response(
        answer(status, problem_body(code, status, detail="why"))
    )
    assert (problem.kind, problem.retryable, problem.status) == (kind, retryable, status)
    assert problem.docs_url == problem.type_uri == f"https://croct.help/api/{code}"
    assert problem.provider_code == code
    assert problem.detail == "why"
    assert problem.title == "T"


def test_it_reads_retry_after_on_429():
    problem = problems.problem_from_response(
        answer(429, problem_body("rate-limit-exceeded", 429), **{"Retry-After": "7"})
    )
    assert problem.retry_after == 7.0


def test_a_status_without_problem_details_still_gets_its_kind():
    problem = problems.problem_from_response(answer(502, b"<html>Bad gateway</html>"))
    assert problem.kind == errors.UNAVAILABLE
    assert "Bad gateway" in problem.raw_body


def test_an_authentication_type_is_auth_whatever_the_status():
    assert (
        problems.problem_from_response(
            answer(400, problem_body("authentication/invalid-token", 400))
        ).kind
        == errors.AUTH
    )


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (423, errors.QuotaExceeded),
        (429, errors.RateLimited),
        (503, errors.ProviderUnavailable),
        (403, errors.AuthError),
    ],
)
def test_injected_faults_come_back_as_croct_problems(client, sandbox, client_id, status, cls):
    sandbox.app.faults.add(Fault(kind="status", status=status, count=1))
    with pytest.raises(cls) as caught:
        client.content(ContentRequest("home-hero", client_id=client_id))
    assert caught.value.problem.type_uri.startswith("https://croct.help/api/")


def test_a_rate_limit_fault_carries_retry_after(client, sandbox, client_id):
    sandbox.app.faults.add(Fault(kind="rate_limit", retry_after=12, count=1))
    with pytest.raises(errors.RateLimited) as caught:
        client.evaluate("true", client_id=client_id)
    assert caught.value.retry_after == 12.0
    assert caught.value.retryable


def test_a_malformed_body_is_a_malformed_response(client, sandbox, client_id):
    sandbox.app.faults.add(Fault(kind="malformed", count=1))
    with pytest.raises(errors.MalformedResponse):
        client.content(ContentRequest("home-hero", client_id=client_id))


class CannedHTTP:
    """Stands in for requests.Session: answers every call with one canned response."""

    def __init__(self, status, body, headers=None):
        self.status, self.body, self.headers = status, body, headers or {}

    def request(self, *args, **kwargs):
        body, status, headers = self.body, self.status, CaseInsensitiveDict(self.headers)

        class Stream:
            """urllib3's response: hands out what has "arrived", then b"" at the end."""

            def __init__(self):
                self.left = body

            def read1(self, size, decode_content=True):
                piece, self.left = self.left[:size], self.left[size:]
                return piece

        class Raw:
            status_code = status
            raw = Stream()

            def close(self):
                pass

        raw = Raw()
        raw.headers = headers
        return raw


def canned_client(status, body, **headers):
    return PROVIDER.build_client(
        base_url="http://127.0.0.1:9",
        settings=DEMO_SETTINGS,
        secrets={"api_key": SIGNED_KEY},
        http=CannedHTTP(status, body, headers),
    )


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"[1, 2]",
        b'{"metadata": {}}',
        b'{"content": "x"}',
        b'{"content": {',
        b'{"content": {}, "metadata": "x"}',
        b'{"content": {}, "metadata": {"experience": [1]}}',
    ],
)
def test_content_bodies_that_are_not_content_are_malformed(body, client_id):
    with pytest.raises(errors.MalformedResponse):
        canned_client(200, body).content(ContentRequest("home-hero", client_id=client_id))


@pytest.mark.parametrize("body", [b"", b'{"items": 3}', b'{"nextCursor": "x"}', b"<xml/>"])
def test_export_pages_that_are_not_pages_are_malformed(body):
    with pytest.raises(errors.MalformedResponse):
        canned_client(200, body).export_users(0, 1)


def test_iter_export_refuses_a_cursor_that_does_not_advance():
    body = b'{"items": [{"userId": "u"}], "nextCursor": "same"}'
    with pytest.raises(errors.MalformedResponse):
        list(canned_client(200, body).iter_export("users", 0, 1, cursor="same"))


def test_an_empty_evaluation_body_is_malformed_but_null_is_a_value(client_id):
    with pytest.raises(errors.MalformedResponse):
        canned_client(200, b"").evaluate("true", client_id=client_id)
    assert canned_client(200, b"null").evaluate("true", client_id=client_id).value is None


def test_an_empty_429_is_still_rate_limited(client_id):
    with pytest.raises(errors.RateLimited) as caught:
        canned_client(429, b"", **{"Retry-After": "3"}).evaluate("true", client_id=client_id)
    assert caught.value.retry_after == 3.0


def test_a_202_without_a_reason_header_is_still_a_suspension():
    with pytest.raises(errors.Suspended) as caught:
        problems.raise_for_answer(answer(202), suspendable=True)
    assert caught.value.problem.detail == "unspecified"


def test_an_unknown_api_key_is_an_auth_error(client, sandbox, client_id):
    sandbox.app.rejected_credentials = {client._api_key_id}
    with pytest.raises(errors.AuthError) as caught:
        client.content(ContentRequest("home-hero", client_id=client_id))
    assert caught.value.problem.provider_code == "authentication/unknown-api-key"


def test_it_sends_only_the_uuid_of_a_signing_key_and_redacts_every_part(sandbox, client_id):
    seen = []
    client = PROVIDER.build_client(
        base_url=sandbox.url,
        settings=DEMO_SETTINGS,
        secrets={"api_key": SIGNED_KEY},
        hook=seen.append,
    )
    client.content(ContentRequest("home-hero", client_id=client_id))
    client.evaluate("true", client_id=client_id)
    client.track(TrackEvent(payload={"type": "cartViewed"}, url="https://x", client_id=client_id))
    client.export_users(0, 2**50, page_size=2)
    sandbox.app.faults.add(Fault(kind="status", status=500, count=1))
    with pytest.raises(errors.ProviderUnavailable):
        client.export_user("user-0001")
    uuid_part, _, signing = SIGNED_KEY.partition(":")
    assert len(seen) == 5
    for exchange in seen:
        recorded = json.dumps(dataclasses.asdict(exchange), default=str)
        for secret in (SIGNED_KEY, uuid_part, signing.split(";")[1]):
            assert secret not in recorded
    assert seen[0].request_headers["X-Api-Key"] == "[REDACTED]"
    assert sandbox.app.stats()["tracked_events"] == 1


def test_the_sandbox_refuses_the_whole_signing_key_in_the_header(http):
    response = http.post(
        "/external/web/content",
        json={"slotId": "home-hero"},
        headers=http.external(**{"X-Api-Key": SIGNED_KEY}),
    )
    assert response.status_code == 401
    assert response.json()["type"].endswith("authentication/invalid-api-key")


def test_verify_evaluates_true_with_a_fresh_client_id(client, exchanges):
    assert PROVIDER.verify(client) == {"result": True}
    assert exchanges[0].operation == "croct.evaluate"
    assert uuid.UUID(exchanges[0].request_headers["X-Client-Id"]).version == 4


def test_verify_raises_auth_for_a_rejected_key(client, sandbox):
    sandbox.app.rejected_credentials = {client._api_key_id}
    with pytest.raises(errors.AuthError):
        PROVIDER.verify(client)

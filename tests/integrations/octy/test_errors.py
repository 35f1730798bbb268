"""Octy's error answers mapped to Problems (providers/octy.md: errors, auth)."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest
import requests
from requests.structures import CaseInsensitiveDict

from integrations import errors
from integrations.http import ProviderResponse
from integrations.octy import PROVIDER
from integrations.octy.problems import problem_from_response
from integrations.octy.sandbox import DEMO_SECRETS, create_app
from integrations.sandbox import Fault, serve


def as_provider_response(response: requests.Response) -> ProviderResponse:
    return ProviderResponse(response.status_code, response.headers, response.content)


def provider_response(status, body, headers=None):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return ProviderResponse(status, CaseInsensitiveDict(headers or {}), raw)


@pytest.mark.parametrize(
    ("status", "kind", "retryable"),
    [
        (403, errors.AUTH, False),
        (404, errors.NOT_FOUND, False),
        (405, errors.INVALID_REQUEST, False),
        (409, errors.CONFLICT, False),
        (411, errors.INVALID_REQUEST, False),
        (413, errors.INVALID_REQUEST, False),
        (415, errors.INVALID_REQUEST, False),
        (500, errors.UNAVAILABLE, True),
        (501, errors.INVALID_REQUEST, False),
        (503, errors.UNAVAILABLE, True),
    ],
)
def test_it_maps_each_status_class(client, sandbox, status, kind, retryable):
    """contract: Octy / documented error statuses"""
    sandbox.app.faults.add(Fault(kind="status", status=status, count=1))
    with pytest.raises(errors.ProviderError) as caught:
        client.get_profiles(["cust-00001"])
    problem = caught.value.problem
    assert (problem.kind, problem.retryable, problem.status) == (kind, retryable, status)
    assert problem.provider == "octy"
    assert problem.provider_code == str(status)


def test_it_maps_429_with_retry_after(client, sandbox):
    sandbox.app.faults.add(Fault(kind="rate_limit", retry_after=7, count=1))
    with pytest.raises(errors.RateLimited) as caught:
        client.profiles_page()
    assert caught.value.retry_after == 7
    assert caught.value.retryable


def test_it_rate_limits_at_120_requests_a_minute_per_client_ip():
    """contract: Octy / 503 and 429 mean not processed (retry)"""
    running = serve(create_app())
    try:
        client = PROVIDER.build_client(base_url=running.url, settings={}, secrets=DEMO_SECRETS)
        for _ in range(120):
            client.event_types()
        with pytest.raises(errors.RateLimited) as caught:
            client.event_types()
        problem = caught.value.problem
        assert problem.status == 429
        assert 0 < problem.retry_after <= 60
        assert json.loads(problem.raw_body)["request_meta"]["request_status"] == "Failure"
        assert running.app.stats()["endpoints"]["rate_limited"] == 1
    finally:
        running.stop()


def test_it_maps_a_missing_authorization_400_to_auth(url):
    response = requests.get(url + "events/types", headers={"cursor": "0"}, timeout=5)
    assert response.status_code == 400
    problem = problem_from_response(as_provider_response(response))
    assert problem.kind == errors.AUTH
    assert problem.docs_url == "https://octy.ai/docs/authentication"


@pytest.mark.parametrize(
    "secrets",
    [
        {"public_key": "pk_demo", "secret_key": "sk_0000dead"},
        {"public_key": "xx_demo", "secret_key": "sk_demo"},
        {"public_key": "pk_demo", "secret_key": "demo"},
    ],
)
def test_it_maps_wrong_keys_to_auth(make_client, secrets):
    """contract: Octy / wrong keys answered 401"""
    with pytest.raises(errors.AuthError) as caught:
        make_client(secrets).event_types()
    assert caught.value.problem.status == 401
    assert caught.value.problem.detail == "Invalid public_key or secret_key provided"


def test_it_refuses_a_content_type_that_is_not_exactly_application_json(url, auth):
    """contract: Octy / Content-Type exactly application/json (415)"""
    response = requests.post(
        url + "profiles/create",
        data=b'{"profiles": []}',
        headers={"Content-Type": "application/json; charset=utf-8"},
        auth=auth,
        timeout=5,
    )
    assert response.status_code == 415
    assert problem_from_response(as_provider_response(response)).retryable is False


def test_it_requires_content_length_on_posts(sandbox, auth):
    """contract: Octy / 411 Content-Length required"""
    parts = urlsplit(sandbox.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        connection.putrequest("POST", "/v1/retention/profiles/create")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Authorization", requests.auth._basic_auth_str(*auth))
        connection.endheaders()
        response = connection.getresponse()
        assert response.status == 411
        assert json.loads(response.read())["error"]["code"] == 411
    finally:
        connection.close()


def test_it_answers_501_when_transfer_encoding_is_present(url, auth):
    """contract: Octy / 501 not implemented"""
    response = requests.post(
        url + "events/create",
        data=iter([b'{"event_type": "signup"}']),
        headers={"Content-Type": "application/json"},
        auth=auth,
        timeout=5,
    )
    assert response.status_code == 501
    problem = problem_from_response(as_provider_response(response))
    assert (problem.kind, problem.retryable) == (errors.INVALID_REQUEST, False)


def test_it_answers_413_for_an_oversized_body(url, auth):
    """contract: Octy / 413 entity too large"""
    response = requests.post(
        url + "events/create/batch",
        data=b" " * (2 * 1024 * 1024 + 1),
        headers={"Content-Type": "application/json"},
        auth=auth,
        timeout=5,
    )
    assert response.status_code == 413


def test_it_answers_405_and_404_in_octys_error_shape(url, auth):
    wrong_method = requests.get(url + "profiles/create", auth=auth, timeout=5)
    missing = requests.get(url + "nowhere", auth=auth, timeout=5)
    assert wrong_method.status_code == 405
    assert missing.status_code == 404
    assert problem_from_response(as_provider_response(wrong_method)).retryable is False
    assert problem_from_response(as_provider_response(missing)).kind == errors.NOT_FOUND


def test_it_puts_422_field_errors_in_details(url, auth):
    """contract: Octy / 422 field-level errors"""
    response = requests.post(
        url + "profiles/create",
        json={"profiles": [{"customer_id": "a", "has_charged": "yes"}, {}]},
        auth=auth,
        timeout=5,
    )
    assert response.status_code == 422
    problem = problem_from_response(as_provider_response(response))
    assert problem.kind == errors.INVALID_REQUEST
    assert {"field": "body.profiles.0.has_charged", "message": "value is not a valid bool",
            "type": "type_error.bool"} in problem.details  # fmt: skip
    assert "body.profiles.1.customer_id" in {d["field"] for d in problem.details}


def test_it_reads_fastapi_style_422_detail_lists():
    body = {"detail": [{"loc": ["query", "rfm"], "msg": "bad pattern", "type": "value_error"}]}
    problem = problem_from_response(provider_response(422, body))
    assert problem.details == ({"field": "query.rfm", "message": "bad pattern",
                                "type": "value_error"},)  # fmt: skip
    assert problem.detail == "bad pattern"


@pytest.mark.parametrize("code", [400, "400"])
def test_it_accepts_the_error_code_as_int_or_string(code):
    """contract: Octy / error body (code int or string)"""
    body = {
        "request_meta": {"request_status": "Failure", "message": "Bad Request"},
        "error": {
            "code": code,
            "reason": "Invalid customer identifier provided",
            "errors": [
                {
                    "error_message": "No customer profiles were found.",
                    "extended_help": "<https://octy.ai/docs/profiles>",
                }
            ],
        },
    }
    problem = problem_from_response(provider_response(400, body))
    assert problem.provider_code == "400"
    assert problem.docs_url == "https://octy.ai/docs/profiles"
    assert problem.detail == (
        "Invalid customer identifier provided: No customer profiles were found."
    )


def test_it_reads_string_codes_from_the_sandbox(sandbox, make_client):
    sandbox.app.string_error_codes = True
    try:
        with pytest.raises(errors.InvalidRequest) as caught:
            make_client().delete_profiles(["profile_nope"])
    finally:
        sandbox.app.string_error_codes = False
    assert json.loads(caught.value.problem.raw_body)["error"]["code"] == "400"
    assert caught.value.problem.provider_code == "400"


def test_it_maps_a_malformed_success_body(client, sandbox):
    sandbox.app.faults.add(Fault(kind="malformed", count=1))
    with pytest.raises(errors.MalformedResponse):
        client.profiles_page()


def test_it_maps_a_truncated_body(make_client):
    with pytest.raises(errors.MalformedResponse):
        make_client(max_response_bytes=200).profiles_page()


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (200, b"", errors.MALFORMED_RESPONSE),
        (200, b"[1, 2]", errors.MALFORMED_RESPONSE),
        (502, b"", errors.UNAVAILABLE),
        (503, b"<html>maintenance</html>", errors.UNAVAILABLE),
        (401, b"", errors.AUTH),
    ],
)
def test_it_maps_empty_and_non_json_bodies(status, body, kind):
    problem = problem_from_response(provider_response(status, body))
    assert problem.kind == kind


def test_it_maps_a_dropped_connection_as_retryable(client, sandbox):
    sandbox.app.faults.add(Fault(kind="reset", count=1))
    with pytest.raises(errors.ProviderError) as caught:
        client.event_types()
    assert caught.value.retryable

"""Error mapping from raw answers; the HTTP-level behaviour is in test_client.py."""

import json

import pytest
from requests.structures import CaseInsensitiveDict

from integrations import errors
from integrations.altcraft import problems, xmlcodec
from integrations.http import ProviderResponse


def answer(body, status=200, content_type="application/json", **headers):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return ProviderResponse(
        status=status,
        headers=CaseInsensitiveDict({"Content-Type": content_type, **headers}),
        body=raw,
    )


CASES = [
    (400, errors.INVALID_REQUEST, False, "Incorrect request"),
    (401, errors.AUTH, False, "API token required"),
    (402, errors.QUOTA, False, "Tariff limit reached"),
    (403, errors.AUTH, False, "No rights for this action"),
    (404, errors.NOT_FOUND, False, "not found"),
    (409, errors.CONFLICT, False, "same unique attributes"),
    (413, errors.CONFIGURATION, False, "database is not available in the selected resource"),
    (415, errors.INVALID_REQUEST, False, "Content-Type"),
    (435, errors.AMBIGUOUS, False, "Ambiguous"),
    (441, errors.AUTH, False, "another group"),
    (450, errors.INVALID_REQUEST, False, "validation"),
    (500, errors.UNAVAILABLE, True, "Internal service error"),
    (501, errors.INVALID_REQUEST, False, "method does not exist"),
]


@pytest.mark.parametrize(("code", "kind", "retryable", "title"), CASES)
@pytest.mark.parametrize("http_status", [200, 400, 500])
def test_it_judges_by_the_body_code_whatever_the_http_status(
    code, kind, retryable, title, http_status
):
    with pytest.raises(errors.ProviderError) as caught:
        problems.check(answer({"error": code, "error_text": "said the server"}, http_status))
    problem = caught.value.problem
    assert (problem.kind, problem.retryable, problem.provider_code) == (kind, retryable, str(code))
    assert title in problem.title
    assert problem.detail.startswith("said the server")
    assert problem.docs_url == ""
    assert problem.status == http_status


def test_it_calls_413_a_configuration_problem_not_a_too_large_body():
    with pytest.raises(errors.ConfigurationError) as caught:
        problems.check(answer({"error": 413, "error_text": "x"}))
    assert "too large" not in str(caught.value).lower()


def test_it_reads_body_codes_from_xml_answers():
    raw = xmlcodec.encode({"error": 404, "error_text": "Profile not found"})
    with pytest.raises(errors.NotFound) as caught:
        problems.check(answer(raw, content_type="application/xml"))
    assert caught.value.problem.detail == "Profile not found"


def test_it_accepts_a_code_written_as_text():
    assert problems.check(answer({"error": "0", "profile_id": "x"}))["profile_id"] == "x"
    with pytest.raises(errors.NotFound):
        problems.check(answer({"error": "404"}))


def test_it_tells_how_to_narrow_an_ambiguous_match_and_counts_candidates():
    with pytest.raises(errors.AmbiguousMatch) as caught:
        problems.check(
            answer({"error": 435, "error_text": "Ambiguous", "count": 3}), matching="phone"
        )
    problem = caught.value.problem
    assert "profile_id" in problem.detail
    assert "resource_id" in problem.detail
    assert problem.details == (
        {"advice": problems.AMBIGUOUS_ADVICE, "matching": "phone", "candidates": 3},
    )


def test_it_maps_an_unknown_body_code_by_its_status_class():
    with pytest.raises(errors.ProviderError) as caught:
        problems.check(answer({"error": 429, "error_text": "slow down"}))
    assert caught.value.problem.kind == errors.RATE_LIMITED
    with pytest.raises(errors.ProviderError) as caught:
        problems.check(answer({"error": 7}))
    assert caught.value.problem.kind == errors.UNKNOWN


@pytest.mark.parametrize(
    "body",
    [b"", b"   ", b"<html>oops</html>", b"Internal", b'{"error": 0, "error_tex', b"[1, 2]"],
)
def test_it_calls_a_200_without_a_readable_body_malformed(body):
    with pytest.raises(errors.MalformedResponse) as caught:
        problems.check(answer(body, content_type="text/html"))
    assert caught.value.problem.retryable


def test_it_calls_a_200_without_an_error_code_malformed():
    with pytest.raises(errors.MalformedResponse, match="no numeric"):
        problems.check(answer({"profile_id": "x"}))


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (502, errors.UNAVAILABLE),
        (503, errors.UNAVAILABLE),
        (504, errors.TIMEOUT),
        (429, errors.RATE_LIMITED),
        (401, errors.AUTH),
        (404, errors.NOT_FOUND),
        (400, errors.INVALID_REQUEST),
    ],
)
def test_it_falls_back_on_the_http_status_when_no_altcraft_body_came(status, kind):
    with pytest.raises(errors.ProviderError) as caught:
        problems.check(
            answer(b"<html>Bad gateway</html>", status, "text/html", **{"Retry-After": "7"})
        )
    assert caught.value.problem.kind == kind
    assert caught.value.problem.retry_after == 7.0

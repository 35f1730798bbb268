"""CQL evaluation (providers/croct.md: evaluate) and the sandbox's CQL subset."""

from __future__ import annotations

import pytest

from integrations import errors
from integrations.croct.client import ContentContext, PageContext, PayloadError
from integrations.croct.sandbox_cql import CqlError, evaluate


def test_it_evaluates_the_documented_example(client, client_id):
    context = ContentContext(attributes={"cities": ["New York", "San Francisco"]})
    result = client.evaluate(
        "context's cities include location's cityName", context, client_id=client_id
    )
    assert result.value is True
    assert result.raw == "true"


@pytest.mark.parametrize(
    ("query", "value"),
    [
        ("42", 42),
        ("'text'", "text"),
        ('"double"', "double"),
        ("null", None),
        ("location's cityName", "New York"),
        ("context's plan is 'pro' and not (context's seats < 3)", True),
        ("context's plan is not 'pro' or context's seats >= 5", True),
        ("context's company's size == 10", True),
        ("context's company", {"size": 10}),
        ("page's url includes '/pricing'", True),
    ],
)
def test_it_returns_the_raw_json_result(client, client_id, query, value):
    context = ContentContext(
        page=PageContext(url="https://example.com/pricing"),
        attributes={"plan": "pro", "seats": 5, "company": {"size": 10}},
    )
    assert client.evaluate(query, context, client_id=client_id).value == value


def test_it_accepts_a_user_token_instead_of_a_client_id(client):
    assert client.evaluate("true", user_token=client.user_token(None)).value is True


def test_it_maps_a_syntax_error_to_a_422_with_its_location(client, client_id):
    with pytest.raises(errors.InvalidRequest) as caught:
        client.evaluate("context's plan is\n  and true", client_id=client_id)
    problem = caught.value.problem
    assert problem.status == 422
    assert problem.provider_code == "evaluation/invalid-query"
    assert problem.docs_url == "https://croct.help/api/evaluation/invalid-query"
    (error,) = problem.details
    assert error["location"]["start"] == {"line": 2, "column": 3, "index": 20}
    assert error["location"]["end"] == {"line": 2, "column": 6, "index": 23}
    assert "and" in error["cause"]


def test_it_maps_a_failed_evaluation_to_evaluation_failed(client, client_id):
    with pytest.raises(errors.InvalidRequest) as caught:
        client.evaluate("'a' > 1", client_id=client_id)
    assert caught.value.problem.provider_code == "evaluation/evaluation-failed"
    assert caught.value.problem.details[0]["location"]["start"]["column"] == 5


@pytest.mark.parametrize("query", ["", "   ", "x" * 501])
def test_it_refuses_empty_and_long_queries_before_sending(client, client_id, exchanges, query):
    with pytest.raises(PayloadError):
        client.evaluate(query, client_id=client_id)
    assert exchanges == []


def test_it_accepts_a_query_of_exactly_500_characters(client, client_id):
    query = "true" + " " * 492 + "true"
    with pytest.raises(errors.InvalidRequest):  # parses to `true true`: a syntax error
        client.evaluate(query[:500], client_id=client_id)
    assert client.evaluate("true" + " " * 496, client_id=client_id).value is True


def test_the_sandbox_refuses_a_501_character_query_with_invalid_input(http):
    response = http.post(
        "/external/web/evaluate", json={"query": "1" * 501}, headers=http.external()
    )
    assert response.status_code == 400
    assert response.json()["type"] == "https://croct.help/api/invalid-input"


def test_it_raises_suspended_when_the_workspace_is_suspended(client, sandbox, client_id):
    sandbox.app.suspended = True
    with pytest.raises(errors.Suspended):
        client.evaluate("true", client_id=client_id)


# --- the CQL subset itself ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("query", "value"),
    [
        ("true == 1", False),
        ("1 == 1.0", True),
        ("[1, 2, 'x'] include 'x'", True),
        ("'abc' includes 'b'", True),
        ("context's missing", None),
        ("context's missing's deeper", None),
        ("context's not is 1", True),
        ("context's plan is 's'", False),
        ("not not true", True),
        ("-2.5 < -1", True),
        ("'b' > 'a'", True),
        ("timeZone", "UTC"),
    ],
)
def test_the_cql_subset_evaluates(query, value):
    assert evaluate(query, {"timeZone": "UTC", "attributes": {"plan": "pro", "not": 1}}) == value


@pytest.mark.parametrize(
    ("query", "code", "column"),
    [
        ("1 +", "invalid-query", 3),
        ("'open", "invalid-query", 1),
        ("user's name", "invalid-query", 1),
        ("(true", "invalid-query", 6),
        ("context's", "invalid-query", 10),
        ("1 include 1", "evaluation-failed", 3),
        ("null < 1", "evaluation-failed", 6),
        ("(" * 40 + "true" + ")" * 40, "invalid-query", 33),
    ],
)
def test_the_cql_subset_locates_errors(query, code, column):
    with pytest.raises(CqlError) as caught:
        evaluate(query, {})
    assert caught.value.code == code
    assert caught.value.location["start"]["column"] == column

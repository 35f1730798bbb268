"""Octy behaviours issue #14 asked for, each proven over real HTTP against the sandbox
(providers/octy.md and source-docs/octy-api.txt; docs/contract.md names the rows)."""

from __future__ import annotations

import pytest
import requests

from integrations import errors
from integrations.http import ProviderResponse
from integrations.octy import PROVIDER
from integrations.octy.payloads import NewProfile, OctyEvent
from integrations.octy.problems import is_held_for_person, problem_from_response
from integrations.octy.results import held_outcomes
from integrations.octy.sandbox import DEMO_SECRETS, create_app
from integrations.provider import SettingsError
from integrations.sandbox import Fault, serve


@pytest.fixture
def ada(client):
    return client.get_profiles(["cust-00001"])[0].profile_id


def other_sandbox(**options):
    # Rate limiting off: these tests are about other behaviour.
    return serve(create_app(rate_limit_per_minute=None, **options))


def client_for(running, exchanges=None):
    return PROVIDER.build_client(
        base_url=running.url,
        settings={},
        secrets=DEMO_SECRETS,
        hook=exchanges.append if exchanges is not None else None,
    )


# --- base URL -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url", ["http://api.octy.ai", "http://10.0.0.5:8103", "http://octy.internal.example"]
)
def test_a_plain_http_base_url_is_refused(url):
    """contract: Octy / base URL https:// only"""
    with pytest.raises(ValueError, match="https://"):
        PROVIDER.clean_base_url(url)
    with pytest.raises(SettingsError) as caught:
        PROVIDER.build_client(base_url=url, settings={}, secrets=DEMO_SECRETS)
    assert "https://" in caught.value.errors["base_url"]


@pytest.mark.parametrize(
    "url",
    [
        "https://api.octy.ai",
        "https://eu.octy.example/",
        "http://127.0.0.1:8103",
        "http://localhost:1",
    ],
)
def test_https_and_loopback_sandboxes_are_accepted(url):
    """contract: Octy / base URL https:// only"""
    assert PROVIDER.clean_base_url(url) == url.rstrip("/")
    PROVIDER.build_client(base_url=url, settings={}, secrets=DEMO_SECRETS)


# --- auth -----------------------------------------------------------------------------
def test_every_call_uses_the_prefix_and_basic_auth_with_both_keys(client, exchanges, sandbox):
    """contract: Octy / prefix /v1/retention/
    contract: Octy / HTTP Basic auth (pk_ username, sk_ password)"""
    client.event_types()
    client.get_profiles(["cust-00001"])
    for exchange in exchanges:
        assert "/v1/retention/" in exchange.url
        assert exchange.request_headers["Authorization"] == "Basic [REDACTED]"
    # The sandbox decodes the header as pk_ username and sk_ password to accept it.
    assert sandbox.app.stats()["endpoints"].get("refused", 0) == 0


def test_a_missing_authorization_answered_400_or_401_is_an_auth_failure(url):
    """contract: Octy / missing auth answered 400 or 401"""
    statuses = []
    for _ in range(2):
        # The sandbox answers a missing header 400 (backend) and 401 (doc) in turn.
        response = requests.get(url + "events/types", headers={"cursor": "0"}, timeout=5)
        statuses.append(response.status_code)
        provider_response = ProviderResponse(
            response.status_code, response.headers, response.content
        )
        problem = problem_from_response(provider_response)
        assert problem.kind == errors.AUTH
        assert problem.retryable is False
    assert sorted(statuses) == [400, 401]


# --- look-ups ---------------------------------------------------------------------------
def test_look_ups_send_ids_and_the_sandbox_takes_the_docs_id_too(client, exchanges, url, auth):
    """contract: Octy / look-up query parameter ids (doc writes id)"""
    (ada,) = client.get_profiles(["cust-00001"])
    client.profiles_metadata([ada.profile_id])
    assert "?ids=cust-00001" in exchanges[0].url
    assert "?ids=profile_" in exchanges[1].url
    by_id = requests.get(url + "profiles", params={"id": "cust-00001"}, auth=auth, timeout=5)
    assert by_id.status_code == 200
    assert by_id.json()["profiles"][0]["profile_id"] == ada.profile_id
    # With ?id= no cursor is needed, as with ?ids=.
    assert "cursor" not in by_id.headers


# --- message templates ------------------------------------------------------------------
def test_message_templates_are_browsed_like_event_types(client, exchanges, sandbox):
    """contract: Octy / Message Template definitions (fifth paginated resource)"""
    sandbox.app.page_size = 2  # forces a second page
    first = client.message_templates()
    assert exchanges[0].url.endswith("/v1/retention/messaging/templates")
    assert exchanges[0].request_headers["cursor"] == "0"
    assert len(first.entries) == 2
    assert first.total == 3
    second = client.message_templates(first.next_cursor)
    names = [t["template_name"] for t in first.entries + second.entries]
    assert names == ["welcome", "win-back", "cart-reminder"]
    end = client.message_templates(second.next_cursor)
    assert (end.entries, end.next_cursor) == ([], None)


def test_message_templates_are_read_under_either_list_key():
    """contract: Octy / Message Template definitions (fifth paginated resource)"""
    running = other_sandbox(template_list_key="templates")
    try:
        page = client_for(running).message_templates()
    finally:
        running.stop()
    assert len(page.entries) == 3


# --- success bodies ---------------------------------------------------------------------
def test_a_created_answer_without_a_result_list_is_a_success_for_what_was_sent():
    """contract: Octy / 2xx Created/Success without a per-object result list"""
    running = other_sandbox(result_lists="never")
    try:
        client = client_for(running)
        ada = client.get_profiles(["cust-00001"])[0].profile_id
        result = client.create_events(
            [OctyEvent("page_view", ada, {"url": "/a"}), OctyEvent("signup", ada)]
        )
        assert [o.status for o in result.outcomes] == ["created", "created"]
        assert not any(o.hold_for_person for o in result.outcomes)
        assert result.unreported == (0, 1)
        assert running.app.stats()["events_created"] == 2
        profiles = client.create_profiles([NewProfile("brand-new-1"), NewProfile("brand-new-2")])
        assert profiles.ok
        assert profiles.succeeded == []
        assert profiles.unreported == (0, 1)
        created = client.create_event(OctyEvent("signup", ada))
        assert created.event_id == ""  # nothing to show, but not a failure
    finally:
        running.stop()


def test_listed_failures_still_count_when_the_result_list_is_missing():
    """contract: Octy / 2xx Created/Success without a per-object result list"""
    running = other_sandbox(result_lists="never")
    try:
        client = client_for(running)
        ada = client.get_profiles(["cust-00001"])[0].profile_id
        result = client.create_events(
            [OctyEvent("page_view", ada), OctyEvent("undefined_type", ada)]
        )
    finally:
        running.stop()
    assert [o.status for o in result.outcomes] == ["created", "failed"]
    assert "has not been defined" in result.outcomes[1].error_message
    assert result.unreported == (0,)


def test_the_client_reads_both_kinds_of_success_body_when_octy_varies():
    """contract: Octy / 2xx Created/Success without a per-object result list"""
    running = other_sandbox(result_lists="alternate")
    try:
        client = client_for(running)
        ada = client.get_profiles(["cust-00001"])[0].profile_id
        results = [client.create_events([OctyEvent("signup", ada)]) for _ in range(2)]
    finally:
        running.stop()
    assert [r.outcomes[0].status for r in results] == ["created", "created"]
    assert sorted(bool(r.outcomes[0].event_id) for r in results) == [False, True]


# --- not processed vs ambiguous ---------------------------------------------------------
@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault(kind="status", status=503, count=1), errors.ProviderUnavailable),
        (Fault(kind="rate_limit", retry_after=3, count=1), errors.RateLimited),
    ],
)
def test_a_503_or_429_to_a_write_is_not_processed_and_retryable(client, sandbox, ada, fault, error):
    """contract: Octy / 503 and 429 mean not processed (retry)"""
    sandbox.app.faults.add(fault)
    with pytest.raises(error) as caught:
        client.create_events([OctyEvent("signup", ada)])
    assert caught.value.retryable
    assert not is_held_for_person(caught.value.problem)
    assert sandbox.app.stats()["events_created"] == 0
    assert client.create_events([OctyEvent("signup", ada)]).outcomes[0].status == "created"


def test_a_500_after_a_write_is_held_for_a_person_not_resent(client, sandbox, ada, url):
    """contract: Octy / 500 after a write is ambiguous (hold for a person)"""
    requests.post(url.replace("/v1/retention/", "/_sandbox/fail_after_write"), json={"count": 1})
    events = [OctyEvent("signup", ada), OctyEvent("page_view", ada, {"url": "/x"})]
    with pytest.raises(errors.AmbiguousMatch) as caught:
        client.create_events(events)
    problem = caught.value.problem
    assert (problem.kind, problem.status, problem.retryable) == (errors.AMBIGUOUS, 500, False)
    assert is_held_for_person(problem)
    assert "check in Octy, then replay or discard" in problem.detail
    # The sandbox did apply the write: a blind resend would have created them twice.
    assert sandbox.app.stats()["events_created"] == 2
    outcomes = held_outcomes(len(events), problem)
    assert [(o.status, o.hold_for_person) for o in outcomes] == [("ambiguous", True)] * 2
    assert "replay or discard" in outcomes[0].advice


def test_a_500_to_a_single_event_or_a_profile_write_is_held_too(client, sandbox, ada):
    """contract: Octy / 500 after a write is ambiguous (hold for a person)"""
    sandbox.app.faults.add(Fault(kind="status", status=500, count=2))
    with pytest.raises(errors.AmbiguousMatch):
        client.create_event(OctyEvent("signup", ada))
    with pytest.raises(errors.AmbiguousMatch):
        client.create_profiles([NewProfile("held-1")])


def test_a_500_to_a_read_stays_retryable(client, sandbox):
    """contract: Octy / 500 after a write is ambiguous (hold for a person)"""
    sandbox.app.faults.add(Fault(kind="status", status=500, count=1))
    with pytest.raises(errors.ProviderUnavailable) as caught:
        client.get_profiles(["cust-00001"])
    assert caught.value.retryable
    assert not is_held_for_person(caught.value.problem)

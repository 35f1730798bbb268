"""Fetch content and static content through the client (providers/croct.md: content)."""

from __future__ import annotations

import json
import uuid

import pytest

from integrations import errors
from integrations.croct import tokens
from integrations.croct.client import (
    DEFAULT_LOCALE,
    CampaignContext,
    ContentContext,
    ContentRequest,
    PageContext,
    PayloadError,
)


def fetch(client, slot_id="home-hero", **options):
    options.setdefault("client_id", str(uuid.uuid4()))
    return client.content(ContentRequest(slot_id, **options))


def test_it_returns_the_slot_default_when_no_audience_matches(client):
    result = fetch(client)
    assert result.content_source == "slot"
    assert result.component == "home-hero@2"
    assert result.version == "2.0"
    assert result.content["_component"] == "home-hero@2"
    assert result.experience_id is None
    assert result.variant_id is None
    assert result.schema is None


def test_it_reports_the_experience_for_a_matching_audience(client):
    result = fetch(client, context=ContentContext(attributes={"plan": "pro"}))
    assert result.content_source == "experience"
    assert result.content["title"] == "Personalized for Pro users"
    assert result.experience_id
    assert result.audience_id
    assert result.experiment_id is None
    assert "experiment" not in result.raw["metadata"]["experience"]


def test_it_assigns_a_stable_experiment_variant_per_client(client, client_id):
    context = ContentContext(time_zone="America/Sao_Paulo")
    first = fetch(client, client_id=client_id, context=context)
    again = fetch(client, client_id=client_id, context=context)
    assert first.content_source == "experiment"
    assert first.experiment_id
    assert first.variant_id
    assert (again.variant_id, again.content) == (first.variant_id, first.content)


def test_it_spreads_clients_over_every_variant(client):
    context = ContentContext(time_zone="America/Sao_Paulo")
    seen = {fetch(client, context=context).variant_id for _ in range(40)}
    assert len(seen) == 3


def test_it_assigns_the_variant_by_the_token_subject(client):
    context = ContentContext(time_zone="America/Sao_Paulo")
    token = client.user_token("user-0001")
    variants = {
        fetch(client, client_id=str(uuid.uuid4()), user_token=token, context=context).variant_id
        for _ in range(5)
    }
    assert len(variants) == 1


@pytest.mark.parametrize(
    ("context", "slot_id", "source"),
    [
        (
            ContentContext(page=PageContext(url="https://shop.example.com/pricing")),
            "pricing-banner",
            "experiment",
        ),
        (
            ContentContext(campaign=CampaignContext(source="newsletter")),
            "newsletter-signup",
            "experience",
        ),
        (ContentContext(attributes={"plan": "pro"}), "product-recommendations", "experience"),
        (ContentContext(attributes={"plan": "free"}), "product-recommendations", "slot"),
    ],
)
def test_it_targets_each_seeded_audience(client, context, slot_id, source):
    assert fetch(client, slot_id, context=context).content_source == source


def test_it_bypasses_targeting_for_a_preview_token(client):
    pro = fetch(client, context=ContentContext(attributes={"plan": "pro"}))
    brazil = fetch(client, context=ContentContext(time_zone="America/Sao_Paulo"))
    claims = {
        "slotId": "home-hero",
        "experienceId": brazil.experience_id,
        "variantId": brazil.variant_id,
    }
    token = f"e30.{tokens.b64url_encode(json.dumps(claims).encode())}."
    previewed = fetch(
        client, preview_token=token, context=ContentContext(attributes={"plan": "pro"})
    )
    assert previewed.experience_id == brazil.experience_id != pro.experience_id
    assert previewed.variant_id == brazil.variant_id


def test_it_treats_an_unreadable_preview_token_as_opaque(client):
    result = fetch(
        client, preview_token="opaque", context=ContentContext(attributes={"plan": "pro"})
    )
    assert result.content_source == "slot"


@pytest.mark.parametrize(
    ("version", "resolved", "component"),
    [
        ("1", "1.1", "home-hero@1"),
        ("1.0", "1.0", "home-hero@1"),
        ("2", "2.0", "home-hero@2"),
        (None, "2.0", "home-hero@2"),
    ],
)
def test_it_resolves_major_and_minor_versions(client, version, resolved, component):
    result = fetch(client, version=version)
    assert (result.version, result.component) == (resolved, component)


def test_it_answers_404_for_a_version_the_slot_lacks(client):
    with pytest.raises(errors.NotFound):
        fetch(client, version="9")


@pytest.mark.parametrize(
    ("locale", "title"),
    [
        ("pt-br", "Experiências personalizadas"),
        ("pt_BR", "Experiências personalizadas"),
        ("PT-BR", "Experiências personalizadas"),
        ("es-MX", "Experiencias personalizadas"),
        ("en-US", "Ship personalized experiences, fast"),
        ("de", "Ship personalized experiences"),
        (DEFAULT_LOCALE, "Ship personalized experiences"),
    ],
)
def test_it_matches_locales_case_insensitively_with_fallback(client, locale, title):
    assert fetch(client, preferred_locale=locale).content["title"] == title


def test_it_sends_null_for_the_explicit_default_locale_and_omits_none(client, exchanges):
    fetch(client, preferred_locale=DEFAULT_LOCALE)
    fetch(client)
    assert json.loads(exchanges[0].request_body)["preferredLocale"] is None
    assert "preferredLocale" not in json.loads(exchanges[1].request_body)


def test_it_sends_the_locale_exactly_as_given(client, exchanges):
    fetch(client, preferred_locale="pt_BR")
    assert json.loads(exchanges[0].request_body)["preferredLocale"] == "pt_BR"


def test_it_includes_the_schema_without_labels_or_descriptions(client):
    result = fetch(client, include_schema=True)
    text = json.dumps(result.schema)
    assert result.schema["root"]["type"] == "structure"
    assert "cta" in result.schema["root"]["attributes"]
    assert '"label"' not in text.replace('"label": {', "")
    assert "description" not in text
    assert "Q3" not in text
    assert result.schema["root"]["attributes"]["title"]["type"] == {"type": "text"}


def test_it_returns_a_null_component_for_a_slot_without_one(client):
    result = fetch(client, "announcement-bar")
    assert result.component is None
    assert result.content["_component"] is None


def test_it_raises_not_found_with_the_problem_type_for_an_unknown_slot(client):
    with pytest.raises(errors.NotFound) as caught:
        fetch(client, "no-such-slot")
    problem = caught.value.problem
    assert problem.docs_url == "https://croct.help/api/content/slot-not-found"
    assert problem.provider_code == "content/slot-not-found"
    assert "no-such-slot" in problem.detail


def test_it_sends_the_client_headers(client, exchanges):
    fetch(client, client_ip="192.0.2.10", client_agent="Mozilla/5.0")
    headers = exchanges[0].request_headers
    assert headers["X-Client-Ip"] == "192.0.2.10"
    assert headers["X-Client-Agent"] == "Mozilla/5.0"
    assert headers["X-Client-Library"] == "Switchyard v0.1.0"
    assert exchanges[0].operation == "croct.content"


def test_it_refuses_a_request_without_client_id_or_token_before_sending(client, exchanges):
    with pytest.raises(PayloadError):
        client.content(ContentRequest("home-hero"))
    assert exchanges == []


@pytest.mark.parametrize(
    "options",
    [
        {"version": "v1"},
        {"version": "1.2.3"},
        {"preferred_locale": "english"},
        {"client_id": "not-a-uuid"},
        {"client_id": "6ba7b8109dad11d180b400c04fd430c"},  # 31 hex digits
        {"user_token": "a.b"},
        {"context": ContentContext(time_zone="Mars/Olympus")},
        {"context": ContentContext(attributes={"plan": "x" * 51})},
    ],
)
def test_it_validates_requests_before_sending(client, exchanges, options):
    with pytest.raises(PayloadError):
        fetch(client, **options)
    assert exchanges == []


def test_it_fetches_static_content_without_client_headers(client, exchanges):
    result = client.static_content(
        "pricing-banner", version="1", preferred_locale="pt-BR", include_schema=True
    )
    assert result.content["headline"] == "Preços simples"
    assert result.content_source == "slot"
    assert result.schema is not None
    headers = exchanges[0].request_headers
    assert "X-Client-Id" not in headers
    assert "X-Token" not in headers
    assert exchanges[0].url.endswith("/external/web/static-content")


def test_static_content_is_served_while_the_workspace_is_suspended(client, sandbox):
    sandbox.app.suspended = True
    assert client.static_content("home-hero").content_source == "slot"


def test_it_raises_suspended_on_a_202_with_the_reason(client, sandbox, exchanges):
    sandbox.app.suspended = True
    with pytest.raises(errors.Suspended) as caught:
        fetch(client)
    problem = caught.value.problem
    assert problem.kind == errors.SUSPENDED
    assert problem.detail == "tracking_and_personalization_suspended"
    assert problem.retryable is False
    assert exchanges[0].outcome == "suspended"


def test_page_and_campaign_may_be_plain_mappings(client):
    context = ContentContext(page={"url": "https://shop.example.com/pricing", "title": "Pricing"})
    assert fetch(client, "pricing-banner", context=context).content_source == "experiment"
    with pytest.raises(PayloadError) as caught:
        fetch(client, context=ContentContext(campaign={"utm_source": "x"}))
    assert caught.value.path == "context.campaign.utm_source"

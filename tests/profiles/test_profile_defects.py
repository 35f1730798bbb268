"""Issue #16 defects 1, 6 (profile), 8 and 9: what the profile, cache and look-up
pages tell the person after each action."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.urls import reverse

from dashboard.profiles.models import CachedProfile, LookupResult
from integrations.sandbox import Fault
from tests.profiles.conftest import arrived, run_profile_work

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def _field_errors(html: str, name: str) -> str:
    """The error list rendered inside the form field ``name``'s own block."""
    block = re.search(
        r'<div class="field has-error">\s*<label for="id_' + name + r'".*?</div>', html, re.S
    )
    return block.group(0) if block else ""


def _section(html: str, section_id: str) -> str:
    found = re.search(r'<section class="card" id="' + section_id + r'".*?</section>', html, re.S)
    assert found, f"no #{section_id} in the response"
    return found.group(0)


def _altcraft_ada(account) -> str:
    from dashboard.accounts.services import provider_client

    return provider_client(account).get_profile("email", "ada@example.com").profile_id


def _octy_ada(account) -> str:
    from dashboard.accounts.services import provider_client

    return provider_client(account).get_profiles(["cust-00001"])[0].profile_id


def _edit(client, account, profile_id, name, value):
    url = reverse("profiles:profile_edit", args=[account.pk, profile_id])
    response = client.post(url, {"name": name, "value": value}, headers=HTMX)
    assert response.status_code == 200  # htmx swaps 2xx answers only
    return arrived(client, response)


# --- defect 1: the provider's refusal beside the field ---------------------------------


def test_an_altcraft_email_that_is_not_an_email_is_said_beside_the_value(
    demo_account, support, client_for
):
    altcraft = demo_account("altcraft")
    fragment = _edit(
        client_for(support), altcraft, _altcraft_ada(altcraft), "email", "not-an-email"
    )

    beside = _field_errors(fragment, "value")
    assert "is not an email" in beside
    assert 'value="not-an-email"' in fragment  # what was typed is kept
    assert 'data-testid="edit-refused"' in fragment


@pytest.mark.parametrize("provider", ["altcraft", "octy"])
def test_a_provider_422_is_said_beside_the_value_in_its_own_words(
    provider, demo_account, support, client_for, sandbox
):
    account = demo_account(provider)
    profile_id = _altcraft_ada(account) if provider == "altcraft" else _octy_ada(account)
    write_path = {
        "altcraft": "/api/v1.1/profiles/update",
        "octy": "/v1/retention/profiles/update",
    }[provider]
    sandbox[provider].app.faults.add(Fault(kind="status", status=422, path=write_path))

    fragment = _edit(client_for(support), account, profile_id, "plan", "pro")

    beside = _field_errors(fragment, "value")
    assert "refused it" in beside
    assert "Injected failure" in beside
    assert "The server answered" not in fragment


def test_octy_per_object_failures_are_said_beside_the_value(
    demo_account, support, client_for, monkeypatch
):
    """providers/octy.md: partial failures — a 200 may still refuse the object."""
    from integrations.profiles import AttributeWrite
    from integrations.registry import get_provider

    octy = demo_account("octy")
    refused = AttributeWrite(
        ok=False, failed=[{"identifier": "p-1", "error_message": "plan must be a string"}]
    )
    monkeypatch.setattr(
        type(get_provider("octy").profiles), "set_attribute", lambda *a, **k: refused
    )

    fragment = _edit(client_for(support), octy, _octy_ada(octy), "plan", "7")

    assert "plan must be a string" in _field_errors(fragment, "value")
    assert 'data-testid="edit-ok"' not in fragment


def test_no_flash_message_is_left_behind_by_a_refused_save(demo_account, support, client_for):
    altcraft = demo_account("altcraft")
    ada = _altcraft_ada(altcraft)
    client = client_for(support)

    _edit(client, altcraft, ada, "email", "not-an-email")
    _edit(client, altcraft, ada, "email", "still-not")
    saved = _edit(client, altcraft, ada, "_city", "Paris")

    assert 'data-testid="edit-ok"' in saved
    page = client.get(reverse("profiles:profile", args=[altcraft.pk, ada])).content.decode()
    assert 'class="messages"' not in page
    assert "is not an email" not in page


# --- defect 6: every panel the save changed comes back with it ---------------------------


def test_a_save_re_renders_the_attributes_and_the_calls_for_this_customer(
    demo_account, support, client_for
):
    octy = demo_account("octy")
    ada = _octy_ada(octy)
    client = client_for(support)
    client.get(reverse("profiles:profile", args=[octy.pk, ada]))
    run_profile_work()

    fragment = _edit(client, octy, ada, "plan", "enterprise")

    attributes = _section(fragment, "profile-attributes")
    assert 'hx-swap-oob="true"' in attributes
    assert "enterprise" in attributes
    calls = _section(fragment, "profile-calls")
    assert 'hx-swap-oob="true"' in calls
    assert "octy.profiles.update" in calls
    assert 'id="profile-head" hx-swap-oob="true"' in fragment


# --- defect 8: the cache page opened with no query -----------------------------------------


def test_the_cache_page_with_no_query_lists_what_a_sync_cached(demo_account, support, client_for):
    from django.utils import timezone

    from dashboard.profiles.cache import cache_upsert

    octy = demo_account("octy", name="Octy EU")
    profiles = [
        {"profile_id": f"p-{i:04}", "name": f"Customer {i:04}", "email": f"c{i}@example.com"}
        for i in range(120)
    ]
    cache_upsert(account=octy, profiles=profiles, fetched_at=timezone.now())
    client = client_for(support)

    for params in ({}, {"q": "", "account": ""}):
        page = client.get(reverse("profiles:cache"), params).content.decode()
        assert "No cached profile matches" not in page
        assert "Customer 0000" in page
        assert "of 120 cached profiles" in page
    none = client.get(reverse("profiles:cache"), {"q": "zebra"}).content.decode()
    assert "No cached profile matches “zebra” (120 cached)" in none


def test_an_empty_cache_says_how_to_fill_it(support, client_for):
    page = client_for(support).get(reverse("profiles:cache")).content.decode()
    assert "Nothing is cached yet" in page


# --- defect 9: look-up cards ----------------------------------------------------------------


def _lookup_page(client, support, text):
    from dashboard.profiles.query import recognise
    from dashboard.profiles.services import lookup_result_run, lookup_start

    lookup = lookup_start(query=recognise(text), actor=support)
    # Inside the test's transaction on-commit sends never fire: run each result
    # through the task's own service here (the queueing is covered in test_lookup).
    for result in lookup.results.filter(status="pending"):
        lookup_result_run(result_id=result.pk)
    html = client.get(reverse("profiles:lookup", args=[lookup.pk])).content.decode()
    return lookup, html


def _card(html: str, provider: str) -> str:
    start = html.index(f'data-provider="{provider}"')
    return unescape(html[start : html.index("</article>", start)])


def test_a_not_found_card_names_what_was_searched(demo_account, support, client_for):
    demo_account("altcraft", name="Altcraft CRM")
    _, html = _lookup_page(client_for(support), support, "nobody@example.com")
    card = _card(html, "altcraft")
    assert "No profile for email nobody@example.com." in card
    assert "No profile ." not in card


def test_an_ambiguous_card_lists_the_matching_profiles_and_advises_once(
    demo_account, support, client_for
):
    altcraft = demo_account("altcraft", name="Altcraft CRM")
    client = client_for(support)
    browse = client.get(reverse("profiles:browse", args=[altcraft.pk]))
    arrived(client, browse)  # a page of the listing fills the cache
    _, html = _lookup_page(client, support, "+15550000000")
    card = _card(html, "altcraft")

    assert 'data-status="ambiguous"' in card
    assert card.count('data-testid="candidate"') == 2
    assert card.lower().count("several") == 1
    assert "Narrow the match" not in card  # the problem's own advice is not repeated
    assert "&quot;advice&quot;" not in card
    assert "Altcraft profile id" in card


@pytest.mark.parametrize(
    ("fault", "sentence"),
    [
        (Fault(kind="rate_limit", retry_after=7), "asks to wait 7 seconds"),
        (Fault(kind="status", status=401), "refused the console's key"),
    ],
)
def test_a_failed_card_says_what_to_do_and_offers_a_retry(
    fault, sentence, demo_account, support, client_for, sandbox
):
    demo_account("altcraft", name="Altcraft CRM")
    sandbox["altcraft"].app.faults.add(fault)
    client = client_for(support)
    lookup, html = _lookup_page(client, support, "ada@example.com")
    card = _card(html, "altcraft")

    assert sentence in card
    assert 'data-testid="retry"' in card
    assert not re.search(r"(\d{3})\D+\1\D+\1", re.sub(r"<[^>]+>", " ", card))  # "429 … 429 … 429"

    sandbox["altcraft"].app.faults.replace([])
    result = LookupResult.objects.get(request=lookup)
    retried = client.post(reverse("profiles:lookup_retry", args=[result.pk]), headers=HTMX)
    assert 'data-status="pending"' in retried.content.decode()
    from dashboard.profiles.services import lookup_result_run

    lookup_result_run(result_id=result.pk)
    again = client.get(reverse("profiles:lookup", args=[lookup.pk])).content.decode()
    assert 'data-status="found"' in _card(again, "altcraft")
    assert CachedProfile.objects.filter(email="ada@example.com").exists()


@pytest.mark.parametrize("garbled", ["nul\x00id", "x" * 101])
def test_a_profile_id_no_provider_issues_is_not_found_and_queues_nothing(
    garbled, demo_account, support, client_for
):
    from dashboard.profiles.models import ProfileWork

    octy = demo_account("octy")
    client = client_for(support)
    for method, name in (("get", "profile"), ("post", "profile_refresh"), ("post", "profile_edit")):
        url = reverse(f"profiles:{name}", args=[octy.pk, garbled])
        response = getattr(client, method)(url, {"name": "plan", "value": "pro"})
        assert response.status_code == 404, name
    assert not ProfileWork.objects.exists()


def test_a_retried_card_releases_the_cards_that_waited_for_its_key(
    demo_account, support, client_for, sandbox
):
    from dashboard.profiles.services import lookup_result_run

    altcraft = demo_account("altcraft", name="Altcraft CRM")
    octy = demo_account("octy", name="Octy EU")
    sandbox["altcraft"].app.faults.add(Fault(kind="rate_limit", retry_after=3))
    client = client_for(support)
    lookup, html = _lookup_page(client, support, "ada@example.com")
    assert 'data-status="failed"' in _card(html, "altcraft")
    assert 'data-status="not_found"' in _card(html, "octy")  # no key came to link by

    sandbox["altcraft"].app.faults.replace([])
    failed = LookupResult.objects.get(request=lookup, account=altcraft)
    client.post(reverse("profiles:lookup_retry", args=[failed.pk]), headers=HTMX)
    lookup_result_run(result_id=failed.pk)
    # Released by the retried card's key; run here as the worker would.
    waiting = LookupResult.objects.get(request=lookup, account=octy)
    lookup_result_run(result_id=waiting.pk)

    page = client.get(reverse("profiles:lookup", args=[lookup.pk])).content.decode()
    assert 'data-status="found"' in _card(page, "altcraft")
    assert 'data-status="found"' in _card(page, "octy")
    assert "linked from Altcraft CRM" in _card(page, "octy")

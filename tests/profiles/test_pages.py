"""The look-up, profile and access-log pages, with the real worker and sandboxes."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dashboard.profiles.models import LookupRequest, ProfileAccess, ProfileWork
from tests.conftest import wait_for
from tests.profiles.conftest import tolerant

pytestmark = pytest.mark.django_db(transaction=True)


def _lookup(client, text):
    response = client.post(reverse("profiles:index"), {"q": text})
    assert response.status_code == 302
    url = response["Location"]

    def finished():
        page = client.get(url, headers={"HX-Request": "true"})
        return page if page.status_code == 286 else None

    return url, wait_for(tolerant(finished), timeout=30).content.decode()


def test_support_sees_both_providers_with_provenance_and_the_phone_conflict(
    celery_worker, profile_accounts, support, client_for
):
    client = client_for(support)
    url, fragment = _lookup(client, "ada@example.com")

    assert 'data-account="Altcraft CRM" data-provider="altcraft" data-status="found"' in fragment
    assert 'data-account="Octy EU" data-provider="octy" data-status="found"' in fragment
    assert "customer_id cust-00001 (linked from Altcraft CRM)" in fragment
    assert 'data-field="phone" data-conflict="true"' in fragment
    assert 'data-field="name" data-conflict="false"' in fragment
    assert "+447700900999" in fragment
    assert "+447700900001" in fragment
    assert "Providers disagree on: phone" in fragment
    page = client.get(url).content.decode()
    assert 'Recognised as <strong data-testid="query-kind">Email</strong>' in page


def test_contact_details_are_masked_without_see_contact_details(
    celery_worker, profile_accounts, unmasked_not_allowed, client_for
):
    client = client_for(unmasked_not_allowed)
    url, fragment = _lookup(client, "cust-00001")

    assert "ada@example.com" not in fragment
    assert "+447700900001" not in fragment
    assert "+447700900999" not in fragment
    assert "a•••@example.com" in fragment
    assert "Ada Lovelace" in fragment  # names are not contact details
    octy = profile_accounts["octy"]
    profile_id = LookupRequest.objects.get().results.get(account=octy).profiles[0]["profile_id"]
    detail = client.get(reverse("profiles:profile", args=[octy.pk, profile_id])).content.decode()
    assert "ada@example.com" not in detail
    assert "+447700900001" not in detail
    assert "a•••@example.com" in detail


def test_ambiguous_match_lists_what_to_narrow(celery_worker, profile_accounts, support, client_for):
    _, fragment = _lookup(client_for(support), "+15550000000")
    assert 'data-status="ambiguous"' in fragment
    assert 'data-testid="narrow"' in fragment
    assert "Altcraft profile id" in fragment


def test_a_failed_account_shows_its_problem_beside_the_others(
    celery_worker, profile_accounts, support, client_for, sandbox
):
    from integrations.sandbox import Fault

    sandbox["octy"].app.faults.add(Fault(kind="status", status=503))
    _, fragment = _lookup(client_for(support), "cust-00001")
    assert 'data-provider="octy" data-status="failed"' in fragment
    assert 'data-kind="unavailable"' in fragment
    assert 'data-provider="altcraft" data-status="found"' in fragment


def test_profile_page_lists_the_calls_made_for_the_customer_and_records_the_view(
    celery_worker, profile_accounts, support, client_for
):
    client = client_for(support)
    _lookup(client, "ada@example.com")
    octy = profile_accounts["octy"]
    profile_id = LookupRequest.objects.get().results.get(account=octy).profiles[0]["profile_id"]

    # Cached by the look-up: the page shows it at once, asking the provider nothing.
    page = client.get(reverse("profiles:profile", args=[octy.pk, profile_id])).content.decode()

    assert 'data-arriving="false"' in page
    assert "Ada Lovelace" in page
    assert "octy.profiles.get" in page
    assert "altcraft.profiles.get" in page
    assert 'data-testid="events"' in page
    assert ProfileAccess.objects.filter(user=support, action="view", subject=profile_id).exists()

    response = client.post(reverse("profiles:profile_refresh", args=[octy.pk, profile_id]))
    assert response.status_code == 302
    assert client.get(response["Location"]).status_code == 200
    # The page may already show the refresh done (the worker is quick): ask the row.
    refresh = ProfileWork.objects.filter(kind="fetch").latest("pk")
    status_url = reverse("profiles:profile_status", args=[refresh.pk])

    def refreshed():
        answer = client.get(status_url, headers={"HX-Request": "true"})
        html = answer.content.decode()
        return html if 'data-awaited="false"' in html and answer.status_code == 286 else None

    fragment = wait_for(tolerant(refreshed), timeout=30)
    assert 'data-testid="status-ok"' in fragment
    assert fragment.count("octy.profiles.get") >= 2


def test_invalid_query_is_refused_with_a_message(support, client_for):
    response = client_for(support).post(reverse("profiles:index"), {"q": "a,b"})
    assert response.status_code == 422
    assert "is not an email" in response.content.decode()
    assert not LookupRequest.objects.exists()


def test_admin_sees_the_access_log(profile_accounts, support, admin, client_for):
    from dashboard.profiles.services import access_record

    access_record(user=support, action="view", subject="profile_abc", account=None)
    page = client_for(admin).get(reverse("profiles:access")).content.decode()
    assert "support-user" in page
    assert "profile_abc" in page
    assert "Viewed profile" in page

"""Look-ups run by the real worker against the sandboxes over HTTP."""

from __future__ import annotations

import pytest

from dashboard.calls.models import ApiCall
from dashboard.profiles.models import LookupResult, ProfileAccess
from dashboard.profiles.query import recognise
from dashboard.profiles.services import lookup_is_done, lookup_start
from tests.conftest import wait_for
from tests.profiles.conftest import tolerant

pytestmark = pytest.mark.django_db(transaction=True)


def _run(text, support):
    lookup = lookup_start(query=recognise(text), actor=support)
    wait_for(tolerant(lambda: lookup_is_done(lookup)), timeout=30)
    return {r.account.provider: r for r in LookupResult.objects.filter(request=lookup)}


def test_email_finds_altcraft_then_octy_by_the_linked_customer_id(
    celery_worker, profile_accounts, support
):
    results = _run("ada@example.com", support)

    altcraft, octy, croct = results["altcraft"], results["octy"], results["croct"]
    assert altcraft.status == "found"
    assert altcraft.profiles[0]["name"] == "Ada Lovelace"
    assert altcraft.profiles[0]["phone"] == "+447700900999"
    assert altcraft.matching == "email ada@example.com"
    # Octy cannot search by email: Altcraft's customer_id linked it.
    assert octy.status == "found"
    assert octy.linked_key == "customer_id:cust-00001"
    assert octy.matching == "customer_id cust-00001 (linked from Altcraft CRM)"
    assert octy.profiles[0]["phone"] == "+447700900001"
    assert croct.status == "skipped"
    assert ProfileAccess.objects.filter(user=support, action="search").count() == 1


def test_calls_are_filed_under_the_customer(celery_worker, profile_accounts, support):
    _run("ada@example.com", support)

    calls = ApiCall.objects.filter(subject_type="profile")
    assert set(calls.values_list("subject_id", flat=True)) == {"ada@example.com", "cust-00001"}
    assert {c.operation for c in calls} == {"altcraft.profiles.get", "octy.profiles.get"}


def test_croct_user_id_links_altcraft_by_email_and_octy_by_customer_id(
    celery_worker, profile_accounts, support
):
    results = _run("user-0001", support)

    assert results["croct"].status == "found"
    assert results["croct"].profiles[0]["email"] == "ada@example.com"
    assert results["altcraft"].linked_key == "email:ada@example.com"
    assert results["altcraft"].status == "found"
    assert results["octy"].status == "found"
    assert results["octy"].linked_key == "customer_id:cust-00001"


def test_ambiguous_phone_is_shown_as_such(celery_worker, profile_accounts, support):
    results = _run("+15550000000", support)

    altcraft = results["altcraft"]
    assert altcraft.status == "ambiguous"
    assert altcraft.problem["kind"] == "ambiguous"
    assert altcraft.problem["provider_code"] == "435"
    # Nothing found anywhere, so Octy (waiting for a key) ends as not found.
    assert results["octy"].status == "not_found"


def test_unknown_customer_is_not_found_everywhere(celery_worker, profile_accounts, support):
    results = _run("nobody@example.org", support)

    assert results["altcraft"].status == "not_found"
    assert results["octy"].status == "not_found"
    assert "No other provider" in results["octy"].note


def test_octy_customer_id_is_looked_up_directly(celery_worker, profile_accounts, support):
    results = _run("cust-00002", support)

    assert results["octy"].status == "found"
    assert results["octy"].profiles[0]["customer_id"] == "cust-00002"
    assert results["altcraft"].status == "found"
    assert results["altcraft"].matching == "customer_id cust-00002"


def test_a_failing_provider_does_not_hide_the_others(
    celery_worker, profile_accounts, support, sandbox
):
    from integrations.sandbox import Fault

    sandbox["altcraft"].app.faults.add(Fault(kind="status", status=503))

    results = _run("cust-00001", support)

    assert results["altcraft"].status == "failed"
    assert results["altcraft"].problem["kind"] == "unavailable"
    assert results["octy"].status == "found"
    assert results["octy"].profiles[0]["name"] == "Ada Lovelace"


def test_octy_searches_email_through_the_cache_once_synced(
    celery_worker, profile_accounts, support
):
    from django.utils import timezone

    from dashboard.profiles.cache import cache_upsert

    octy = profile_accounts["octy"]
    cache_upsert(
        account=octy,
        profiles=[{"profile_id": "profile_x", "customer_id": "cust-00003", "email": "z@z.io"}],
        fetched_at=timezone.now(),
    )
    # The cached row points at an id Octy does not have: the live answer wins.
    results = _run("z@z.io", support)
    assert results["octy"].matching == "email via the local cache"
    assert results["octy"].status == "not_found"

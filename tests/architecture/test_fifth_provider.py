"""Adding a provider touches its package, one registry line and its tests (#13).

The fake fifth provider in ``fifth_provider.py`` is registered the way a real one is
(one entry in ``integrations.registry.PROVIDER_PATHS``); the console's own events
and profiles features then send its events and look its customers up, over HTTP
through the shared session and the call log, without knowing its name.
"""

from __future__ import annotations

import pytest

from dashboard.accounts.services import account_connect
from dashboard.calls.models import ApiCall
from dashboard.events.dispatch import events_dispatch
from dashboard.events.models import OutboundEvent
from dashboard.events.outbox import event_queue
from dashboard.profiles import query
from dashboard.profiles.models import LookupResult
from dashboard.profiles.services import lookup_is_done, lookup_start, profile_fetch
from integrations import registry
from tests.architecture import fifth_provider
from tests.conftest import flush_call_log, wait_for
from tests.profiles.conftest import tolerant


@pytest.fixture
def loyalty(monkeypatch):
    # The one registry line a new provider adds.
    monkeypatch.setitem(
        registry.PROVIDER_PATHS, fifth_provider.KEY, "tests.architecture.fifth_provider.PROVIDER"
    )
    registry.get_provider.cache_clear()
    query.id_rules.cache_clear()
    sandbox = fifth_provider.LoyaltySandbox()
    yield sandbox
    sandbox.stop()
    monkeypatch.undo()
    registry.get_provider.cache_clear()
    query.id_rules.cache_clear()


@pytest.fixture
def loyalty_account(loyalty, db):
    return account_connect(
        provider=fifth_provider.KEY,
        name="Loyalty demo",
        base_url=loyalty.url,
        secrets={"api_key": fifth_provider.DEMO_KEY},
    )


def test_the_events_feature_sends_a_fifth_providers_events(loyalty, loyalty_account):
    event = event_queue(
        account=loyalty_account,
        payload={"member": "m-1", "points": 10},
        event_type="points_earned",
        dispatch=False,
    )
    events_dispatch()

    event.refresh_from_db()
    assert event.status == "delivered"
    assert loyalty.events == [{"type": "points_earned", "member": "m-1", "points": 10}]
    flush_call_log()
    call = ApiCall.objects.get(operation="loyalty.track")
    assert call.account_id == loyalty_account.pk
    assert fifth_provider.DEMO_KEY not in str(call.request_headers)  # redacted
    assert OutboundEvent.objects.filter(account=loyalty_account).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_profiles_feature_looks_a_fifth_providers_customer_up(
    celery_worker, loyalty, loyalty_account, support
):
    lookup = lookup_start(query=query.recognise("grace@example.com"), actor=support)
    wait_for(tolerant(lambda: lookup_is_done(lookup)), timeout=30)

    result = LookupResult.objects.get(request=lookup, account=loyalty_account)
    assert result.status == "found"
    assert result.profiles[0]["name"] == "Grace Hopper"
    assert result.matching == "email grace@example.com"
    profile = profile_fetch(account=loyalty_account, profile_id="m-1")
    assert profile["attributes"] == {"points": 120}
    assert ApiCall.objects.filter(operation="loyalty.find", account=loyalty_account).exists()

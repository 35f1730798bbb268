"""The Octy profiles adapter over real HTTP against the Octy sandbox."""

from __future__ import annotations

import pytest

from integrations import errors
from integrations import profiles as base
from integrations.octy import PROVIDER
from integrations.octy.sandbox import DEMO_SECRETS, create_app
from integrations.sandbox import Fault, serve

ADAPTER = PROVIDER.profiles


@pytest.fixture(scope="module")
def served():
    running = serve(create_app(rate_limit_per_minute=None, profile_count=150, page_size=100))
    yield running
    running.stop()


@pytest.fixture
def client(served):
    served.app.reset()
    return PROVIDER.build_client(base_url=served.url, settings={}, secrets=DEMO_SECRETS)


def _no_cache(field, value):
    raise AssertionError("an id look-up must not ask the cache")


def test_it_is_the_adapter_the_provider_declares():
    assert isinstance(ADAPTER, base.ProfilesAdapter)
    assert ADAPTER.plan_for("octy_id") == base.DIRECT
    assert ADAPTER.plan_for("altcraft_id") == base.LINK
    assert ADAPTER.link_keys == ("customer_id",)


def test_a_customer_id_is_looked_up_and_normalized(client):
    found = ADAPTER.look_up(client, "octy_id", "cust-00001", cached_ids=_no_cache)

    assert found.matching == "octy_id cust-00001"
    ada = found.profiles[0]
    assert (ada["name"], ada["customer_id"], ada["email"]) == (
        "Ada Lovelace",
        "cust-00001",
        "ada@example.com",
    )
    assert "profile_data.name" in ada["attributes"]


def test_an_email_is_answered_through_the_cache_it_is_handed(client):
    asked = []

    def cached(field, value):
        asked.append((field, value))
        return []

    found = ADAPTER.look_up(client, "email", "ada@example.com", cached_ids=cached)

    assert asked == [("email", "ada@example.com")]
    assert found.profiles == []
    assert "not in the local cache" in found.matching


def test_fetch_answers_none_for_an_unknown_profile(client):
    assert ADAPTER.fetch(client, "profile_doesnotexist00") is None


def test_pages_follow_the_cursor_to_the_exhausted_end(client):
    first = ADAPTER.sync_page(client, ADAPTER.sync_start_cursor, {}, page_size=999)
    second = ADAPTER.browse_page(client, first.next_cursor, {})
    end = ADAPTER.browse_page(client, "150", {})

    assert (len(first.profiles), first.next_cursor) == (100, "100")
    assert len(second.profiles) == 50
    assert end.profiles == []
    assert end.next_cursor is None


def test_filters_are_cleaned_and_bad_ones_refused():
    assert ADAPTER.clean_filters({"segments": "a, b", "rfm": ""}) == {"segments": ["a", "b"]}
    with pytest.raises(base.Refused) as refused:
        ADAPTER.clean_filters({"churn_prob": "extreme"})
    assert refused.value.field == "churn_prob"


def test_set_attribute_keeps_the_other_profile_data(client):
    ada = client.get_profiles(["cust-00001"])[0]

    written = ADAPTER.set_attribute(client, ada.profile_id, "plan", "enterprise")

    assert written == base.AttributeWrite(ok=True)
    after = client.get_profiles(["cust-00001"])[0]
    assert after.profile_data["plan"] == "enterprise"
    assert after.profile_data["email"] == ada.profile_data["email"]


def test_set_attribute_refuses_before_writing(client, served):
    ada = client.get_profiles(["cust-00001"])[0]
    with pytest.raises(base.Refused, match="must not be empty"):
        ADAPTER.set_attribute(client, ada.profile_id, "tags", [])
    with pytest.raises(base.Refused, match="no longer has this profile"):
        ADAPTER.set_attribute(client, "profile_doesnotexist00", "plan", "pro")
    assert served.app.stats()["endpoints"].get("POST profiles/update", 0) == 0


def test_a_provider_failure_is_raised_not_swallowed(client, served):
    served.app.faults.add(Fault(kind="status", status=503))
    with pytest.raises(errors.ProviderError):
        ADAPTER.fetch(client, "cust-00001")

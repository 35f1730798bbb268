"""The Altcraft profiles adapter over real HTTP against the Altcraft sandbox."""

from __future__ import annotations

import pytest

from integrations import errors
from integrations import profiles as base
from integrations.altcraft import PROVIDER
from integrations.altcraft.sandbox import DEMO_SECRETS, DEMO_SETTINGS, create_app
from integrations.sandbox import serve

ADAPTER = PROVIDER.profiles


@pytest.fixture(scope="module")
def served():
    running = serve(create_app(profile_count=120))
    yield running
    running.stop()


@pytest.fixture
def client(served):
    served.app.reset()
    return PROVIDER.build_client(base_url=served.url, settings=DEMO_SETTINGS, secrets=DEMO_SECRETS)


def _no_cache(field, value):
    raise AssertionError("Altcraft searches itself")


def test_it_plans_email_phone_its_ids_and_customer_ids():
    assert ADAPTER.plan_for("email") == base.DIRECT
    assert ADAPTER.plan_for("altcraft_id") == base.DIRECT
    assert ADAPTER.plan_for("octy_id", customer_id=True) == base.DIRECT
    assert ADAPTER.plan_for("croct_user") == base.LINK
    assert ADAPTER.link_keys == ("email", "customer_id")


def test_email_and_customer_id_look_ups_are_matched_and_normalized(client):
    by_email = ADAPTER.look_up(client, "email", "ada@example.com", cached_ids=_no_cache)
    by_customer = ADAPTER.look_up(client, "octy_id", "cust-00001", cached_ids=_no_cache)

    assert by_email.matching == "email ada@example.com"
    assert by_customer.matching == "customer_id cust-00001"
    ada = by_email.profiles[0]
    assert ada["name"] == "Ada Lovelace"
    assert ada["customer_id"] == "cust-00001"
    assert by_customer.profiles[0]["profile_id"] == ada["profile_id"]
    assert ADAPTER.fetch(client, ada["profile_id"])["email"] == "ada@example.com"


def test_an_ambiguous_phone_is_raised_with_advice_for_the_page(client):
    with pytest.raises(errors.AmbiguousMatch):
        ADAPTER.look_up(client, "phone", "+15550000000", cached_ids=_no_cache)
    advice = ADAPTER.advice_when_ambiguous("email")
    assert any("Altcraft profile id" in line for line in advice)
    assert any("(or by phone)" in line for line in advice)


def test_pages_follow_from_id(client):
    first = ADAPTER.sync_page(client, "", {}, page_size=100)
    rest = ADAPTER.sync_page(client, first.next_cursor, {}, page_size=100)

    assert len(first.profiles) == 100
    assert len(rest.profiles) == 20
    assert {p["profile_id"] for p in first.profiles}.isdisjoint(
        p["profile_id"] for p in rest.profiles
    )
    assert len(ADAPTER.browse_page(client, "", {}).profiles) == 50


def test_listings_take_no_filters():
    assert ADAPTER.clean_filters({"rfm": ""}) == {}
    with pytest.raises(base.Refused):
        ADAPTER.clean_filters({"rfm": "1-5"})


def test_a_repeated_update_is_applied_again_not_answered_as_a_duplicate(client):
    # Each edit goes with a fresh X-Request-ID (providers/altcraft.md: request_id), so
    # the platform applies the repeat; only a retry of the same request is a duplicate.
    ada_id = client.get_profile("email", "ada@example.com").profile_id

    first = ADAPTER.set_attribute(client, ada_id, "_city", "Paris")
    again = ADAPTER.set_attribute(client, ada_id, "_city", "Paris")

    for write in (first, again):
        assert write.ok
        assert not write.duplicate


def test_an_unknown_system_field_is_refused_before_sending(client):
    with pytest.raises(base.Refused, match="is not an Altcraft system field"):
        ADAPTER.set_attribute(client, "5f4fa1a5ce9448665fef548e", "_nope", "x")

"""The Croct profiles adapter over real HTTP against the Croct sandbox."""

from __future__ import annotations

import pytest

from integrations import errors
from integrations import profiles as base
from integrations.croct import PROVIDER
from integrations.croct.sandbox import DEMO_SECRETS, DEMO_SETTINGS, create_app
from integrations.sandbox import serve

ADAPTER = PROVIDER.profiles


@pytest.fixture(scope="module")
def served():
    running = serve(create_app(export_event_count=300))
    yield running
    running.stop()


@pytest.fixture
def client(served):
    served.app.reset()
    return PROVIDER.build_client(base_url=served.url, settings=DEMO_SETTINGS, secrets=DEMO_SECRETS)


def test_it_looks_up_only_croct_user_ids():
    assert ADAPTER.plan_for("croct_user") == base.DIRECT
    assert "user id" in ADAPTER.plan_for("email")
    assert ADAPTER.link_keys == ()


def test_a_user_is_looked_up_and_normalized(client):
    found = ADAPTER.look_up(client, "croct_user", "user-0001", cached_ids=lambda f, v: [])

    assert found.matching == "Croct user id user-0001"
    ada = found.profiles[0]
    assert (ada["profile_id"], ada["name"], ada["email"]) == (
        "user-0001",
        "Ada Lovelace",
        "ada@example.com",
    )
    # externalUserId is no shared customer id: nobody is linked by it.
    assert ada["customer_id"] == ""


def test_an_unknown_user_is_not_found(client):
    with pytest.raises(errors.NotFound):
        ADAPTER.fetch(client, "user-9999")


def test_export_event_types_are_checked():
    assert ADAPTER.clean_export("events", ["orderPlaced", "pageOpened", "orderPlaced"]) == [
        "orderPlaced",
        "pageOpened",
    ]
    assert ADAPTER.clean_export("sessions", ["orderPlaced"]) == []
    with pytest.raises(base.Refused) as refused:
        ADAPTER.clean_export("events", ["nope"])
    assert refused.value.field == "event_types"


def test_export_pages_carry_items_with_their_time(client, served):
    data = served.app.export
    page = ADAPTER.export_page(
        client,
        kind="events",
        start_ms=data.t0,
        end_ms=data.t0 + 30 * 86_400_000,
        event_types=[],
        cursor=None,
        page_size=50,
    )

    assert len(page.items) == 50
    assert page.next_cursor
    assert all(ADAPTER.item_time(item) is not None for item in page.items)
    assert ADAPTER.export_file_name.format(kind="events", pk=7) == "croct-events-7.jsonl"


def test_item_time_reads_each_kind_of_item():
    assert ADAPTER.item_time({"lastModifiedTime": 5}) == 5
    assert ADAPTER.item_time({"window": {"start": 9}}) == 9
    assert ADAPTER.item_time({"timestamp": True}) is None

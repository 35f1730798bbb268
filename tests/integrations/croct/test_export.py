"""Export of events, sessions and users (providers/croct.md: export)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from integrations import errors
from integrations.croct import PROVIDER, payloads
from integrations.croct.client import PayloadError
from integrations.croct.sandbox import DEMO_SECRETS, DEMO_SETTINGS, create_app
from integrations.sandbox import serve

DAY_MS = 86_400_000


@pytest.fixture
def anchor(sandbox):
    # The module's sandbox is anchored at a fixed day (conftest); its data lies in the
    # 30 days before.
    return sandbox.app.export.t0 + 30 * DAY_MS


@pytest.fixture
def everything(anchor):
    return (anchor - 31 * DAY_MS, anchor)


def test_it_pages_events_with_metadata_and_sends_ms(client, exchanges, everything):
    page = client.export_events(*everything, page_size=50)
    assert len(page.items) == 50
    assert page.next_cursor
    assert page.metadata["organizationSlug"] == "acme"
    item = page.items[0]
    assert {"id", "sessionId", "userId", "timestamp", "context", "payload"} <= set(item)
    assert item["context"]["type"] == "web"
    query = parse_qs(urlsplit(exchanges[0].url).query)
    assert query["start"] == [str(everything[0])]
    assert query["pageSize"] == ["50"]


def test_iter_export_walks_every_event_until_an_empty_page(client, exchanges, everything):
    ids = [item["id"] for item, _ in client.iter_export("events", *everything, page_size=1000)]
    assert len(ids) == len(set(ids)) == 5000
    # 5 full pages, then the empty page that says "done".
    assert len(exchanges) == 6


def test_iter_export_yields_the_cursor_after_each_page_for_resuming(client, everything):
    walked = list(client.iter_export("users", *everything, page_size=100))
    cursors = [cursor for _, cursor in walked]
    resumed = list(client.iter_export("users", *everything, page_size=100, cursor=cursors[0]))
    assert [item for item, _ in resumed] == [item for item, _ in walked[100:]]


def test_start_is_inclusive_and_end_exclusive(client, everything):
    first = client.export_events(*everything, page_size=1).items[0]
    at = first["timestamp"]
    assert client.export_events(at, at + 1, page_size=10).items[0]["id"] == first["id"]
    assert client.export_events(at - 10, at, page_size=10).items == []


def test_it_filters_repeated_event_types(client, exchanges, everything):
    wanted = {"goalCompleted", "orderPlaced"}
    items = [
        item
        for item, _ in client.iter_export(
            "events", *everything, event_types=sorted(wanted), page_size=500
        )
    ]
    assert items
    assert {i["payload"]["type"] for i in items} == wanted
    assert parse_qs(urlsplit(exchanges[0].url).query)["events"] == sorted(wanted)


def test_it_exports_sessions_and_users(client, everything):
    session = client.export_sessions(*everything, page_size=1).items[0]
    assert {"sessionId", "userId", "window"} <= set(session)
    users = client.export_users(*everything, page_size=5).items
    assert users[0]["userId"] == "user-0001"


def test_it_looks_up_ada_by_croct_user_id(client):
    user = client.export_user("user-0001")
    assert user["email"] == "ada@example.com"
    assert (user["firstName"], user["lastName"]) == ("Ada", "Lovelace")


def test_it_looks_up_single_events_and_sessions(client, everything):
    item = client.export_events(*everything, page_size=1).items[0]
    assert client.export_event(item["id"]) == item
    assert client.export_session(item["sessionId"])["sessionId"] == item["sessionId"]


@pytest.mark.parametrize(
    ("method", "item_id"),
    [
        ("export_user", "user-9999"),
        ("export_user", "nobody"),
        ("export_event", "00000000-0000-4000-8000-000000000000"),
        ("export_session", "x"),
    ],
)
def test_single_lookups_raise_not_found(client, method, item_id):
    with pytest.raises(errors.NotFound) as caught:
        getattr(client, method)(item_id)
    assert caught.value.problem.status == 404


@pytest.mark.parametrize("page_size", [0, 1001])
def test_it_refuses_page_sizes_outside_1_to_1000_before_sending(
    client, exchanges, page_size, everything
):
    with pytest.raises(PayloadError):
        client.export_events(*everything, page_size=page_size)
    assert exchanges == []


@pytest.mark.parametrize(
    "params",
    [
        {"pageSize": "0"},
        {"pageSize": "1001"},
        {"pageSize": "ten"},
        {"cursor": "garbage"},
        {"events": "madeUp"},
        {"start": "10", "end": "5"},
    ],
)
def test_the_sandbox_answers_bad_export_queries_with_invalid_input(http, params):
    response = http.get("/export/events", params=params, headers={"X-Api-Key": http.api_key})
    assert response.status_code == 400
    assert response.json()["type"] == "https://croct.help/api/invalid-input"


def test_a_cursor_of_another_export_is_refused(client, everything):
    cursor = client.export_users(*everything, page_size=1).next_cursor
    with pytest.raises(errors.InvalidRequest):
        client.export_events(*everything, cursor=cursor)


def test_export_needs_an_api_key(http):
    response = http.get("/export/user/user-0001")
    assert response.status_code == 401
    assert response.json()["type"].endswith("authentication/invalid-api-key")


def test_a_large_export_is_generated_per_page(everything, anchor):
    running = serve(create_app(export_event_count=100_000, export_anchor_ms=anchor))
    try:
        client = PROVIDER.build_client(
            base_url=running.url, settings=DEMO_SETTINGS, secrets=DEMO_SECRETS
        )
        page = client.export_events(*everything, page_size=1000, cursor=None)
        assert len(page.items) == 1000
        last = client.export_events(anchor - 60_000, anchor, page_size=1000)
        assert last.items
        assert all(i["timestamp"] < anchor for i in last.items)
    finally:
        running.stop()


def test_the_time_unit_lives_in_one_place():
    assert payloads.EXPORT_TIME_UNIT == "ms"
    assert payloads.export_time_param(1_700_000_000_123) == 1_700_000_000_123
    assert payloads.timestamp_ms(1_700_000_000) == 1_700_000_000_000
    assert payloads.timestamp_ms(1_700_000_000_123) == 1_700_000_000_123
    assert payloads.timestamp_ms(None) is None

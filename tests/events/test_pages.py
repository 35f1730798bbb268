"""The inspector (filters, payload search, keyset pages, live stream), the event
page, and the composer."""

from __future__ import annotations

import json
from datetime import timedelta
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard.events import selectors
from dashboard.events.dispatch import events_dispatch
from dashboard.events.models import EventStatus, OutboundEvent
from dashboard.events.outbox import event_queue
from integrations.sandbox import Fault
from tests.conftest import flush_call_log
from tests.events.conftest import ca_event

pytestmark = pytest.mark.django_db


def ids_in(response) -> list[int]:
    import re

    return [
        int(i) for i in re.findall(rb'data-testid="event-row" data-id="(\d+)"', response.content)
    ]


@pytest.fixture
def mixed(ca_account, octy_account, octy_profile, ca_sandbox):
    a = event_queue(
        account=ca_account,
        payload=ca_event("page_view", user="alice", note="blue-sneakers"),
        dispatch=False,
    )
    b = event_queue(
        account=ca_account,
        payload=ca_event(
            "purchase", user="bob", id="o-1", revenue=1, value=1, currency="EUR", items=[]
        ),
        dispatch=False,
    )
    c = event_queue(
        account=octy_account,
        payload={"event_type": "signup", "profile_id": octy_profile},
        dispatch=False,
    )
    events_dispatch()
    ca_sandbox.faults.add(Fault(kind="status", status=400, count=1))
    d = event_queue(account=ca_account, payload=ca_event("page_view", user="alice"), dispatch=False)
    events_dispatch()
    return a, b, c, d


def test_filters_narrow_the_inspector(client_for, marketer, mixed, ca_account, octy_account):
    a, b, c, d = mixed
    client = client_for(marketer)
    url = reverse("events:index")
    assert ids_in(client.get(url)) == [d.pk, c.pk, b.pk, a.pk]
    assert ids_in(client.get(url, {"account": octy_account.pk})) == [c.pk]
    assert ids_in(client.get(url, {"provider": "commanders_act"})) == [d.pk, b.pk, a.pk]
    assert ids_in(client.get(url, {"type": "purchase"})) == [b.pk]
    assert ids_in(client.get(url, {"status": "failed"})) == [d.pk]
    assert ids_in(client.get(url, {"user": "alice"})) == [d.pk, a.pk]
    assert ids_in(client.get(url, {"q": "blue-sneak"})) == [a.pk]
    today = timezone.localdate().isoformat()
    assert len(ids_in(client.get(url, {"since": today, "until": today}))) == 4
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    assert ids_in(client.get(url, {"since": tomorrow})) == []


def test_the_failures_view_keeps_failures_whatever_the_traffic(
    client_for, marketer, mixed, ca_account
):
    a, b, c, d = mixed
    for _ in range(60):  # a page and more of live traffic after the failure
        event_queue(account=ca_account, payload=ca_event(), dispatch=False)
    response = client_for(marketer).get(reverse("events:failures"))
    assert ids_in(response) == [d.pk]
    assert d.pk not in ids_in(client_for(marketer).get(reverse("events:index")))


def test_keyset_pages_walk_every_event_once(client_for, marketer, ca_account):
    created = [
        event_queue(account=ca_account, payload=ca_event(), dispatch=False) for _ in range(120)
    ]
    # Same timestamp for many rows: the id breaks ties.
    OutboundEvent.objects.filter(pk__in=[e.pk for e in created[:70]]).update(
        created_at=created[0].created_at
    )
    page = selectors.event_page(selectors.EventFilters(), page_size=50)
    seen = [r["id"] for r in page.rows]
    while page.next_cursor:
        page = selectors.event_page(selectors.EventFilters(), cursor=page.next_cursor, page_size=50)
        seen += [r["id"] for r in page.rows]
    assert sorted(seen) == sorted(e.pk for e in created)
    assert len(seen) == len(set(seen))


def test_the_live_poll_returns_new_rows_or_a_count_when_paused(client_for, marketer, ca_account):
    first = event_queue(account=ca_account, payload=ca_event(), dispatch=False)
    client = client_for(marketer)
    url = reverse("events:live")
    response = client.get(url, {"after": first.pk})
    assert ids_in(response) == []
    newer = [event_queue(account=ca_account, payload=ca_event(), dispatch=False) for _ in range(3)]
    paused = client.get(url, {"after": first.pk, "paused": "1"})
    assert b"3 new while paused" in paused.content
    assert ids_in(paused) == []
    assert f'data-after="{first.pk}"'.encode() in paused.content
    live = client.get(url, {"after": first.pk})
    assert ids_in(live) == [e.pk for e in reversed(newer)]
    assert f'data-after="{newer[-1].pk}"'.encode() in live.content
    assert b'hx-swap-oob="afterbegin:#event-rows"' in live.content
    # A row the page shows as queued comes back once its status changed.
    events_dispatch(event_ids=[newer[0].pk])
    settled = client.get(url, {"after": newer[-1].pk, "pending": f"{newer[0].pk},{newer[1].pk}"})
    assert f'id="event-row-{newer[0].pk}" hx-swap-oob="true"'.encode() in settled.content
    assert f"event-row-{newer[1].pk}".encode() not in settled.content
    # The live stream honours the page's filters.
    assert ids_in(client.get(url, {"after": first.pk, "user": "nobody"})) == []


def test_the_event_page_shows_payload_exchange_attempts_and_same_user(client_for, support, mixed):
    a, b, c, d = mixed
    url = reverse("events:detail", args=[d.pk])
    # The dispatch ran outside a request or task: its call rows are still queued, and
    # the page says so (and keeps polling) instead of showing nothing.
    pending = client_for(support).get(url).content.decode()
    assert "The call log is still being written; refresh in a moment." in pending
    assert 'hx-trigger="every 1s"' in pending
    flush_call_log()
    response = client_for(support).get(url)
    html = response.content.decode()
    assert "still being written" not in html
    assert 'hx-trigger="every 1s"' not in html
    assert response.status_code == 200
    assert d.idempotency_key in html
    assert 'data-outcome="failed"' in html
    assert "POST" in html
    assert "/events?tc_s=1234" in html
    assert 'data-testid="problem"' in html
    assert f'href="/events/{a.pk}/"' in html  # alice's other event
    assert f'href="/events/{b.pk}/"' not in html
    assert "[REDACTED]" in html
    assert "NJtcKaoCYu7wQe2rTfLpX9sVbHmGZDxRgMBMUw" not in html


def test_events_for_user_finds_a_customer_across_providers(mixed, octy_profile):
    a, b, c, d = mixed
    found = selectors.events_for_user({"caid": "alice", "octy": octy_profile})
    assert [e.pk for e in found] == [d.pk, c.pk, a.pk]


def test_delivery_overview_counts_per_account_and_window(mixed, ca_account, octy_account):
    a, b, c, d = mixed
    # Queued three hours ago (the outbox's clock set back), so the hourly counters
    # hold it as they would have: an UPDATE of created_at would bypass them.
    three_hours_ago = timezone.now() - timedelta(hours=3)
    with mock.patch("dashboard.events.outbox.timezone.now", return_value=three_hours_ago):
        old = event_queue(account=ca_account, payload=ca_event(), dispatch=False)
    assert old.created_at == three_hours_ago
    rows = {r["account"]: r for r in selectors.delivery_overview()}
    ca = rows[ca_account.name]
    assert ca["hour"] == {"queued": 0, "delivered": 2, "failed": 1, "dead": 0}
    assert ca["day"] == {"queued": 1, "delivered": 2, "failed": 1, "dead": 0}
    assert ca["p95_ms"] is not None
    assert ca["p95_ms"] >= 0
    assert rows[octy_account.name]["hour"]["delivered"] == 1


def test_the_composer_validates_and_shows_a_converted_v1_event(client_for, marketer, ca_account):
    v1 = {
        "event_name": "page_view",
        "event_id": "v1-1",
        "page": {"location": "https://x.test/"},
        "user": {"id": "u"},
    }
    response = client_for(marketer).post(
        reverse("events:compose"),
        {"account": ca_account.pk, "payload": json.dumps(v1), "action": "validate"},
        HTTP_HX_REQUEST="true",
    )
    import html as html_lib

    html = html_lib.unescape(response.content.decode())
    assert 'data-testid="converted"' in html
    # The sentence comes from the provider's events adapter.
    assert "This was a Commanders Act v1 event: it was converted to v2." in html
    assert '"url": "https://x.test/"' in html
    assert not OutboundEvent.objects.exists()


def test_the_composer_refuses_with_the_field_and_queues_nothing(client_for, marketer, ca_account):
    response = client_for(marketer).post(
        reverse("events:compose"),
        {"account": ca_account.pk, "payload": '{"event_name": "x", "user": {}}', "action": "send"},
    )
    assert response.status_code == 422
    assert b"context: is required" in response.content
    assert not OutboundEvent.objects.exists()


def test_the_composer_sends_and_opens_the_event(
    client_for, marketer, ca_account, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client_for(marketer).post(
            reverse("events:compose"),
            {
                "account": ca_account.pk,
                "event_type": "page_view",
                "payload": '{"user": {}, "context": {}}',
                "action": "send",
            },
        )
    event = OutboundEvent.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/events/{event.pk}/"
    assert event.status == EventStatus.QUEUED
    assert event.created_by.username == marketer.username
    assert len(callbacks) == 1  # the dispatch, enqueued after commit


def test_the_composer_offers_templates_per_provider(client_for, marketer, croct_account):
    response = client_for(marketer).get(
        reverse("events:compose"), {"account": croct_account.pk, "template": "goalCompleted"}
    )
    html = response.content.decode()
    assert "newsletter-signup" in html
    assert "Croct client id" in html


def test_the_composer_shows_a_providers_own_fields_only_for_its_accounts(
    client_for, marketer, croct_account, ca_account
):
    client = client_for(marketer)
    ca_page = client.get(reverse("events:compose"), {"account": ca_account.pk}).content.decode()
    assert 'name="client_id"' not in ca_page
    client_id = "6a1b3c5d-0000-4000-8000-000000000001"
    response = client.post(
        reverse("events:compose"),
        {
            "account": croct_account.pk,
            "event_type": "pageOpened",
            "payload": '{"url": "https://shop.example/"}',
            "client_id": client_id,
            "action": "send",
        },
    )
    assert response.status_code == 302
    assert OutboundEvent.objects.get().envelope == {"client_id": client_id}


def test_the_customer_panel_lists_only_that_customers_events(client_for, role_users, mixed):
    """The profile page loads this panel by URL (profiles never imports events)."""
    client = client_for(role_users["support"])
    url = reverse("events:for_customer")

    page = client.get(url, {"key": ["alice", "nobody"]}, HTTP_HX_REQUEST="true")

    assert page.status_code == 200
    assert page.content.decode().count('data-testid="event"') == 2  # alice's two, not bob's
    assert "page_view" in page.content.decode()
    assert "None sent." in client.get(url, {"key": "nobody"}).content.decode()
    assert "None sent." in client.get(url).content.decode()

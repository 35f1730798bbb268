"""What the event pages say where a provider's answer proves less than delivery, what a
conversion moved, and the Croct page URL the composer asks for (all from the adapters)."""

from __future__ import annotations

import html as html_lib
import json

import pytest
from django.urls import reverse

from dashboard.events.dispatch import events_dispatch
from dashboard.events.models import EventStatus, OutboundEvent
from dashboard.events.outbox import event_queue
from integrations.commanders_act.client import ACCEPTED_NOTE
from tests.events.conftest import ca_event

pytestmark = pytest.mark.django_db

V1 = {
    "event_name": "page_view",
    "event_id": "v1-1",
    "page": {"location": "https://x.test/"},
    "user": {"id": "u"},
}


def text(response) -> str:
    return html_lib.unescape(response.content.decode())


def test_a_sent_commanders_act_event_reads_accepted_with_the_inspector_note(
    client_for, marketer, ca_account, ca_sandbox
):
    """contract: Commanders Act / 200 for every request"""
    event = event_queue(account=ca_account, payload=ca_event(), dispatch=False)
    events_dispatch(event_ids=[event.pk])
    event.refresh_from_db()
    assert event.status == EventStatus.DELIVERED
    client = client_for(marketer)
    page = text(client.get(reverse("events:detail", args=[event.pk])))
    assert 'data-testid="event-status">Accepted by the collect endpoint<' in page
    assert f'data-testid="delivered-note">{ACCEPTED_NOTE}<' in page
    assert ">Delivered<" not in page
    listing = text(client.get(reverse("events:index")))
    assert 'class="badge delivered">Accepted by the collect endpoint<' in listing


def test_a_delivered_octy_event_still_reads_delivered(
    client_for, marketer, octy_account, octy_profile
):
    event = event_queue(
        account=octy_account,
        payload={"event_type": "signup", "profile_id": octy_profile},
        dispatch=False,
    )
    events_dispatch(event_ids=[event.pk])
    page = text(client_for(marketer).get(reverse("events:detail", args=[event.pk])))
    assert 'data-testid="event-status">Delivered<' in page
    assert 'data-testid="delivered-note"' not in page


def test_the_composer_lists_what_the_v1_conversion_moved(client_for, marketer, ca_account):
    response = client_for(marketer).post(
        reverse("events:compose"),
        {"account": ca_account.pk, "payload": json.dumps(V1), "action": "validate"},
        HTTP_HX_REQUEST="true",
    )
    page = text(response)
    assert 'data-testid="converted"' in page
    assert "event_id → context.event_id" in page
    assert "page.location → context.page.url" in page
    assert "page → context.page" in page


def test_the_event_page_lists_what_the_v1_conversion_moved(client_for, marketer, ca_account):
    """contract: Commanders Act / v1 to v2: all root metadata moves into context"""
    event = event_queue(account=ca_account, payload=V1, dispatch=False)
    assert event.moved == [
        ["event_id", "context.event_id"],
        ["page.location", "context.page.url"],
        ["page", "context.page"],
    ]
    page = text(client_for(marketer).get(reverse("events:detail", args=[event.pk])))
    assert "Converted from Commanders Act v1" in page
    assert "page.location → context.page.url" in page


def test_the_composer_asks_for_the_croct_page_url_instead_of_inventing_one(
    client_for, marketer, croct_account
):
    client = client_for(marketer)
    response = client.post(
        reverse("events:compose"),
        {
            "account": croct_account.pk,
            "event_type": "goalCompleted",
            "payload": '{"goalId": "newsletter-signup"}',
            "action": "send",
        },
    )
    assert response.status_code == 422
    page = text(response)
    assert "Croct needs the page URL the event happened on" in page
    assert 'class="field has-error"><label for="id_url">Page URL' in page
    assert not OutboundEvent.objects.exists()
    response = client.post(
        reverse("events:compose"),
        {
            "account": croct_account.pk,
            "event_type": "goalCompleted",
            "payload": '{"goalId": "newsletter-signup"}',
            "url": "https://shop.example/newsletter",
            "action": "send",
        },
    )
    assert response.status_code == 302
    sent = json.loads(OutboundEvent.objects.get().body)
    assert sent["context"]["url"] == "https://shop.example/newsletter"


def test_the_croct_page_opened_template_leaves_the_url_to_the_user(
    client_for, marketer, croct_account
):
    page = text(
        client_for(marketer).get(
            reverse("events:compose"), {"account": croct_account.pk, "template": "pageOpened"}
        )
    )
    assert '"url": ""' in page
    assert "switchyard.invalid" not in page

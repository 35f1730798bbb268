"""The event page in the mode production runs: a real Celery worker sends the event
and the background call-log writer (a real thread on its own connection) records the
call a moment later. The attempt names the exchange that carried it, and the page
shows that exchange's request and response and links to the call."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.urls import reverse

from dashboard.calls.models import ApiCall
from dashboard.events.models import AttemptOutcome, EventStatus, OutboundEvent
from dashboard.events.outbox import event_queue
from integrations.sandbox import Fault
from tests.conftest import wait_for
from tests.events.conftest import ca_event

pytestmark = pytest.mark.worker

PENDING = "The call log is still being written; refresh in a moment."


def _settled_page(client, event) -> str:
    """The event page once it stops polling, as the browser's poll would see it."""

    def page():
        html = client.get(reverse("events:detail", args=[event.pk])).content.decode()
        return html if PENDING not in html and 'hx-trigger="every 1s"' not in html else None

    return wait_for(page, timeout=30, interval=0.2)


def test_the_event_page_shows_each_attempt_s_exchange_and_links_to_its_call(
    celery_worker, call_log_writer, ca_account, ca_sandbox, client_for, support, settings
):
    assert settings.CALL_LOG_WRITER == "background"
    assert not call_log_writer.on_caller_thread  # the writer thread, as in production
    # A short backoff so the worker's own re-scheduled dispatch retries within the test.
    settings.EVENTS_RETRY_BASE_SECONDS = 0.2
    settings.EVENTS_RETRY_MAX_SECONDS = 0.5
    ca_sandbox.faults.add(Fault(kind="status", status=503, count=1))

    event = event_queue(account=ca_account, payload=ca_event(user="prod-mode"))

    # The first try meets the 503 and is retried; the second is delivered.
    wait_for(
        lambda: OutboundEvent.objects.get(pk=event.pk).status == EventStatus.DELIVERED, timeout=30
    )
    attempts = list(event.attempts.order_by("number"))
    assert [a.outcome for a in attempts] == [AttemptOutcome.RETRY, AttemptOutcome.DELIVERED]
    assert all(a.exchange_id for a in attempts)
    assert attempts[0].exchange_id != attempts[1].exchange_id

    client = client_for(support)
    html = _settled_page(client, event)

    exchanges = re.findall(r'<details data-testid="exchange">(.*?)</details>', html, re.S)
    assert len(exchanges) == 2
    for attempt, exchange, status in zip(attempts, exchanges, (503, 200), strict=True):
        call = ApiCall.objects.get(exchange_id=attempt.exchange_id)
        assert call.status == status
        assert call.subject_type == "event"
        assert call.subject_id == str(event.pk)
        text = unescape(exchange)
        assert f"POST {call.url[:60]}" in text
        assert f"→ {status}" in text
        assert "Request body" in text
        assert "prod-mode" in text
        assert "Response body" in text
        link = reverse("calls:detail", args=[call.pk])
        assert f'href="{link}" data-testid="call-link"' in exchange
        detail = client.get(link)
        assert detail.status_code == 200
        assert call.url in unescape(detail.content.decode())

"""A marketer sends an event, watches it arrive in the live inspector, opens it, and
replays a failure, in a real Chromium with a real worker."""

from __future__ import annotations

import pytest

from dashboard.calls.models import ApiCall
from dashboard.events.models import EventStatus, OutboundEvent
from dashboard.events.outbox import event_queue
from integrations.sandbox import Fault
from tests.conftest import browser_login, flush_call_log, screenshot, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.worker]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def send_from_composer(composer, payload: str, shot: str = "") -> None:
    composer.goto("/events/new/")
    composer.fill("[data-testid=event-type]", "page_view")
    composer.fill("#id_payload", payload)
    composer.click("[data-testid=validate]")
    composer.locator("[data-testid=valid]").wait_for()
    if shot:
        screenshot(composer, shot)
    composer.click("[data-testid=send]")
    composer.locator("[data-testid=event-status]").wait_for()


def test_send_watch_live_open_and_replay_a_failure(
    page, marketer, demo_account, sandbox, celery_worker
):
    account = demo_account("commanders_act", name="CA shop")
    ca = sandbox["commanders_act"].app
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    live_answers = []
    page.on(
        "response",
        lambda r: live_answers.append((r.status, r.url)) if "/events/live/" in r.url else None,
    )
    browser_login(page, marketer.username)
    page.goto("/events/")
    page.locator("[data-testid=no-events]").wait_for()
    assert "Live" in page.locator("[data-testid=live-state]").inner_text()

    # Send from the composer in a second tab; the inspector shows it without a reload.
    composer = page.context.new_page()
    send_from_composer(
        composer,
        '{"user": {"consistent_anonymous_id": "caid-journey"}, "context": {}}',
        shot="events-composer-validated",
    )
    row = page.locator("[data-testid=event-row]").first
    row.wait_for(timeout=10_000)
    assert not page.locator("[data-testid=no-events]").is_visible()
    assert all(status == 200 for status, _ in live_answers)
    assert "page_view" in row.inner_text()
    page.locator("[data-testid=event-row][data-status=delivered]").first.wait_for()
    screenshot(page, "events-live-inspector")

    # Pause: new events are counted, not shown, until Live again.
    page.click("[data-testid=live-toggle]")
    assert "Paused" in page.locator("[data-testid=live-state]").inner_text()
    event_queue(account=account, payload={"event_name": "search", "user": {}, "context": {}})
    page.locator("[data-testid=new-while-paused]").wait_for(timeout=10_000)
    assert "1 new while paused" in page.locator("[data-testid=new-while-paused]").inner_text()
    assert page.locator("[data-testid=event-row]").count() == 1
    page.click("[data-testid=live-toggle]")
    wait_for(lambda: page.locator("[data-testid=event-row]").count() == 2, timeout=10)

    # Open the first event: delivered, with the exact request from the call log.
    page.locator("[data-testid=event-row]").last.locator("a").click()
    page.locator(
        "[data-testid=event-status]:has-text('Accepted by the collect endpoint')"
    ).wait_for(timeout=10_000)
    assert page.locator("[data-testid=attempt][data-outcome=delivered]").count() == 1
    page.locator("[data-testid=exchange] summary").click()
    assert "/events?tc_s=1234" in page.locator("[data-testid=exchange]").inner_text()
    screenshot(page, "events-detail")
    # The attempt links to the call that carried it: the worker's background writer
    # recorded it, and the page found it by the attempt's exchange id.
    delivered = OutboundEvent.objects.get(status=EventStatus.DELIVERED, user_id="caid-journey")
    flush_call_log()  # the event is delivered before its task flushes the call log
    call = ApiCall.objects.get(exchange_id=delivered.attempts.get().exchange_id)
    page.click("[data-testid=call-link]")
    page.wait_for_url(f"**/calls/{call.pk}/")
    assert "/events?tc_s=1234" in page.locator("main").inner_text()
    screenshot(page, "events-attempt-call")
    page.go_back()

    # A failure: Commanders Act refuses the next request (its bare 400).
    ca.faults.add(Fault(kind="status", status=400, count=1))
    send_from_composer(composer, '{"user": {"id": "customer-9"}, "context": {}}')
    failed = wait_for(
        lambda: OutboundEvent.objects.filter(status=EventStatus.FAILED).first(), timeout=15
    )
    page.goto("/events/failed/")
    page.locator(f"[data-testid=event-row][data-id='{failed.pk}']").wait_for()
    page.locator(f"[data-testid=event-row][data-id='{failed.pk}'] a").click()
    page.locator("[data-testid=problem]").wait_for()
    screenshot(page, "events-failed-detail")
    page.click("[data-testid=replay-event]")
    page.locator("[data-testid=replay-progress][data-status=done]").wait_for(timeout=15_000)
    assert "1 / 1" in page.locator("[data-testid=replay-progress]").inner_text()
    screenshot(page, "events-replay-done")
    page.goto(f"/events/{failed.pk}/")
    page.locator(
        "[data-testid=event-status]:has-text('Accepted by the collect endpoint')"
    ).wait_for()
    outcomes = page.locator("[data-testid=attempt]").evaluate_all(
        "els => els.map(e => e.dataset.outcome)"
    )
    assert outcomes == ["failed", "delivered"]
    assert ca.delivery_count(failed.idempotency_key) == 1
    assert problems == []

"""Octy answers a write 500 after applying it: the event is held for a person, who
reads why on its page, checks, and replays it, in a real Chromium with a real worker."""

from __future__ import annotations

import pytest
import requests

from dashboard.events.models import EventStatus, OutboundEvent
from dashboard.events.outbox import event_queue
from tests.conftest import browser_login, screenshot, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.worker]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_an_octy_event_held_after_an_ambiguous_500_is_replayed(
    page, marketer, demo_account, sandbox, celery_worker
):
    account = demo_account("octy", name="Octy shop")
    octy = sandbox["octy"]
    profile_id = octy.app.store.find("cust-00001")["profile_id"]
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    requests.post(f"{octy.url}/_sandbox/fail_after_write", json={"count": 1}, timeout=5)
    event_queue(account=account, payload={"event_type": "signup", "profile_id": profile_id})
    held = wait_for(
        lambda: OutboundEvent.objects.filter(status=EventStatus.HELD).first(), timeout=15
    )
    assert octy.app.stats()["events_created"] == 1

    browser_login(page, marketer.username)
    page.goto("/events/failed/")
    page.locator(f"[data-testid=event-row][data-id='{held.pk}'][data-status=held]").wait_for()
    page.locator(f"[data-testid=event-row][data-id='{held.pk}'] a").click()
    note = page.locator("[data-testid=held-note]")
    note.wait_for()
    assert note.inner_text() == (
        "Octy may or may not have recorded this event (it answered 500 after the write and "
        "keeps no duplicate check): check in Octy, then replay or discard."
    )
    assert page.locator("[data-testid=discard-event]").is_visible()
    assert page.locator("[data-testid=attempt][data-outcome=held]").count() == 1
    screenshot(page, "events-octy-held")

    page.click("[data-testid=replay-event]")
    page.locator("[data-testid=replay-progress][data-status=done]").wait_for(timeout=15_000)
    page.goto(f"/events/{held.pk}/")
    page.locator("[data-testid=event-status]:has-text('Delivered')").wait_for(timeout=10_000)
    outcomes = page.locator("[data-testid=attempt]").evaluate_all(
        "els => els.map(e => e.dataset.outcome)"
    )
    assert outcomes == ["held", "delivered"]
    assert not page.locator("[data-testid=discard-event]").is_visible()
    screenshot(page, "events-octy-held-replayed")
    # The first send (applied, answered 500) and the replay: sent twice in all, once by hand.
    assert octy.app.stats()["events_created"] == 2
    assert problems == []

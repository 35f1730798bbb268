"""Support finds a customer known to two providers, sees where each value came from
and where they disagree, then opens the profile with the calls and events for it."""

from __future__ import annotations

import pytest

from dashboard.profiles.models import ProfileAccess
from tests.conftest import browser_login, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.mark.worker
def test_support_looks_up_ada_across_providers_and_opens_her_profile(
    page, support, demo_account, celery_worker
):
    octy = demo_account("octy", name="Octy EU")
    _an_event_sent_for_ada(octy)
    demo_account("altcraft", name="Altcraft CRM")
    demo_account("croct", name="Croct web")
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    browser_login(page, support.username)

    page.get_by_role("link", name="Profiles", exact=True).click()
    page.fill("#id_q", "ada@example.com")
    page.get_by_role("button", name="Look up").click()

    page.wait_for_selector("[data-testid=lookup-results][data-done=true]")
    cards = page.locator("[data-testid=result][data-status=found]")
    assert cards.count() == 2
    octy_card = page.locator("[data-testid=result][data-provider=octy]")
    assert "linked from Altcraft CRM" in octy_card.locator("[data-testid=matching]").inner_text()
    altcraft = page.locator("[data-testid=result][data-provider=altcraft]")
    assert "email ada@example.com" in altcraft.locator("[data-testid=matching]").inner_text()
    croct = page.locator("[data-testid=result][data-provider=croct]")
    assert "user id" in croct.inner_text()
    phone = page.locator("tr[data-field=phone]")
    assert phone.get_attribute("data-conflict") == "true"
    assert "Altcraft CRM" in phone.inner_text()
    assert "Octy EU" in phone.inner_text()
    assert "conflict" in phone.inner_text().lower()
    screenshot(page, "profiles-lookup-ada")

    page.locator("[data-testid=result][data-provider=octy] [data-testid=open-profile]").click()
    page.wait_for_selector("[data-testid=profile-name]:has-text('Ada Lovelace')")
    assert "octy.profiles.get" in page.locator("[data-testid=calls]").inner_text()
    # The events panel loads after the page (hx-trigger="load"): wait for it.
    page.wait_for_selector("[data-testid=events] [data-testid=event]")
    sent = page.locator("[data-testid=events] [data-testid=event]")
    assert sent.count() == 1
    assert "charged" in sent.inner_text()
    assert "/events/" in sent.locator("a").get_attribute("href")
    screenshot(page, "profiles-profile-ada")

    assert ProfileAccess.objects.filter(user=support, action="view").exists()
    assert problems == []


def _an_event_sent_for_ada(account) -> None:
    """What the events outbox (#6) holds after Switchyard sent Ada a charge event."""
    from django.utils import timezone

    from dashboard.accounts.services import provider_client
    from dashboard.events.models import OutboundEvent

    ada = provider_client(account).get_profiles(["cust-00001"])[0]
    OutboundEvent.objects.create(
        account=account,
        provider="octy",
        event_type="charged",
        body="{}",
        size_bytes=2,
        idempotency_key="journey-1",
        user_id=ada.profile_id,
        status="delivered",
        created_at=timezone.now(),
    )

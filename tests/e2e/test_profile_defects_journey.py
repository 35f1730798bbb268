"""Issue #16, in a browser with the real worker: the last step of each profiles journey
tells the person what happened (defects 1, 6, 8 and 9)."""

from __future__ import annotations

import pytest

from integrations.sandbox import Fault
from tests.conftest import browser_login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.worker]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _watch_console(page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    return problems


def _open_profile(page, account, profile_id: str) -> None:
    """Open a profile that is not cached yet and wait for the worker to bring it."""
    page.goto(f"/profiles/a/{account.pk}/p/{profile_id}/")
    page.wait_for_selector("[data-testid=profile-body][data-arriving=false]", timeout=30_000)
    page.wait_for_selector("[data-testid=attributes]")


def _save(page, name: str, value: str) -> None:
    """Save one attribute and wait for this save's answer (not the previous one's)."""
    page.eval_on_selector("#edit-result", "el => el.setAttribute('data-before', '')")
    page.fill("#edit-result #id_name", name)
    page.fill("#edit-result #id_value", value)
    page.locator("#edit-result button[type=submit]").click()
    page.wait_for_selector(
        "#edit-result:not([data-before])[data-status=done],"
        " #edit-result:not([data-before])[data-status=failed]",
        timeout=30_000,
    )


def test_defect_1_a_refused_edit_is_said_beside_the_field_and_no_flash_survives(
    page, support, demo_account, celery_worker, sandbox
):
    from dashboard.accounts.services import provider_client

    altcraft = demo_account("altcraft", name="Altcraft CRM")
    ada = provider_client(altcraft).get_profile("email", "ada@example.com").profile_id
    problems = _watch_console(page)
    browser_login(page, support.username)
    _open_profile(page, altcraft, ada)

    _save(page, "email", "not-an-email")
    value_field = page.locator("#edit-result .field.has-error:has(#id_value)")
    assert "is not an email" in value_field.inner_text()
    assert page.input_value("#edit-result #id_value") == "not-an-email"
    assert page.locator(".messages").count() == 0  # no "The server answered 422"

    # The provider itself refuses (a 422 from Altcraft): its words, beside the field.
    sandbox["altcraft"].app.faults.add(
        Fault(kind="status", status=422, path="/api/v1.1/profiles/update", count=1)
    )
    _save(page, "_city", "Lyon")
    assert "Altcraft refused it" in value_field.inner_text()
    screenshot(page, "profile-defect-1-refused-beside-field")

    _save(page, "_city", "Paris")
    assert "Saved" in page.locator("[data-testid=edit-ok]").inner_text()
    assert page.locator("#edit-result .has-error").count() == 0
    page.reload()
    page.wait_for_selector("[data-testid=attributes]")
    assert page.locator(".messages").count() == 0  # nothing piled up for later
    assert problems == []


def test_defect_6_a_save_re_renders_the_attributes_and_the_calls(
    page, support, demo_account, celery_worker
):
    from dashboard.accounts.services import provider_client

    octy = demo_account("octy", name="Octy EU")
    ada = provider_client(octy).get_profiles(["cust-00001"])[0].profile_id
    problems = _watch_console(page)
    browser_login(page, support.username)
    _open_profile(page, octy, ada)
    assert "octy.profiles.update" not in page.locator("[data-testid=calls]").inner_text()

    _save(page, "plan", "enterprise")

    plan = "[data-testid=attributes] tr[data-attribute='profile_data.plan']"
    page.wait_for_selector(f"{plan}:has-text('enterprise')")
    page.wait_for_selector("[data-testid=calls][data-awaited=false]")
    assert "octy.profiles.update" in page.locator("[data-testid=calls]").inner_text()
    assert "Saved" in page.locator("[data-testid=edit-ok]").inner_text()
    assert page.input_value("#edit-result #id_value") == ""  # ready for the next one
    screenshot(page, "profile-defect-6-panels-after-save")
    assert problems == []


def test_defect_8_the_cache_lists_what_a_sync_just_cached(
    page, support, demo_account, celery_worker
):
    altcraft = demo_account("altcraft", name="Altcraft CRM")
    problems = _watch_console(page)
    browser_login(page, support.username)
    page.goto(f"/profiles/a/{altcraft.pk}/browse/")
    page.wait_for_selector("[data-testid=browse-page][data-done=true]", timeout=30_000)
    page.get_by_test_id("sync-start").click()
    page.wait_for_selector("[data-testid=sync-job][data-status=done]", timeout=60_000)

    page.get_by_role("link", name="Cached profiles").click()
    page.wait_for_selector("[data-testid=cache-rows]")

    rows = page.locator("[data-testid=cache-rows] tbody tr")
    assert rows.count() == 50
    count = page.get_by_test_id("cache-count").inner_text()
    assert "of 3000 cached profiles" in count
    assert "No cached profile matches" not in page.content()
    screenshot(page, "profile-defect-8-cache-after-sync")
    assert problems == []


def test_defect_9_lookup_cards_say_what_was_searched_and_failed_cards_retry(
    page, support, demo_account, celery_worker, sandbox
):
    altcraft = demo_account("altcraft", name="Altcraft CRM")
    problems = _watch_console(page)
    browser_login(page, support.username)

    # Not found: the card names the value searched.
    page.goto("/profiles/")
    page.fill("#id_q", "nobody@example.com")
    page.get_by_role("button", name="Look up").click()
    page.wait_for_selector("[data-testid=lookup-results][data-done=true]")
    card = page.locator("[data-testid=result][data-provider=altcraft]")
    assert "No profile for email nobody@example.com." in card.inner_text()

    # Ambiguous: the matching profiles once the cache knows them, the advice once.
    page.goto(f"/profiles/a/{altcraft.pk}/browse/")
    page.wait_for_selector("[data-testid=browse-page][data-done=true]", timeout=30_000)
    page.goto("/profiles/")
    page.fill("#id_q", "+15550000000")
    page.get_by_role("button", name="Look up").click()
    page.wait_for_selector("[data-testid=lookup-results][data-done=true]")
    assert card.locator("[data-testid=candidate]").count() == 2
    assert card.inner_text().lower().count("several") == 1
    screenshot(page, "profile-defect-9-ambiguous-card")

    # Rate limited: why, how long to wait, and a retry that works once it passes.
    sandbox["altcraft"].app.faults.add(Fault(kind="rate_limit", retry_after=7, count=1))
    page.fill("#id_q", "ada@example.com")
    page.get_by_role("button", name="Look up").click()
    page.wait_for_selector("[data-testid=lookup-results][data-done=true]")
    assert "asks to wait 7 seconds" in card.inner_text()
    assert "429 429" not in card.inner_text()
    screenshot(page, "profile-defect-9-failed-card-retry")
    card.get_by_test_id("retry").click()
    page.wait_for_selector("[data-testid=result][data-provider=altcraft][data-status=found]")
    assert "Ada Lovelace" in card.inner_text()
    assert problems == []

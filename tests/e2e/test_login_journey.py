"""Each role logs in through a real Chromium and sees its navigation."""

from __future__ import annotations

import pytest

from tests.conftest import browser_login, screenshot

EXPECTED_NAV = {
    "marketer": ["Overview", "Preview", "Events", "Errors", "Accounts"],
    "support": ["Overview", "Preview", "Events", "Profiles", "Errors", "Accounts"],
    "admin": ["Overview", "Preview", "Events", "Profiles", "Errors", "Accounts", "Alerts", "Audit"],
}


@pytest.mark.browser
@pytest.mark.parametrize("role", ["marketer", "support", "admin"])
def test_each_role_logs_in_and_sees_its_navigation(page, role_users, role):
    console_errors = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: console_errors.append(r.url) if r.status >= 400 else None)
    browser_login(page, role_users[role].username)
    page.wait_for_selector("nav.mainnav")
    labels = page.locator("nav.mainnav a").all_inner_texts()
    assert labels == EXPECTED_NAV[role]
    assert page.locator("[data-testid=role]").inner_text() == role
    screenshot(page, f"login-{role}")
    # No CSP violation or script error on the page.
    assert console_errors == []


@pytest.mark.browser
def test_a_wrong_password_shows_a_message_in_the_browser(page, marketer):
    browser_login(page, marketer.username, "not-the-password")
    assert page.locator(".errorlist").is_visible()
    assert page.input_value("#id_username") == marketer.username

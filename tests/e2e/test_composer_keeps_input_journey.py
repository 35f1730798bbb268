"""#16 defect 10: picking another account in the composer used to reload the page
and wipe the payload the user had typed. Now the typed event type and payload come
back with the other account's form."""

from __future__ import annotations

import pytest

from tests.conftest import browser_login, screenshot

pytestmark = [pytest.mark.browser]

TYPED = '{"user": {"consistent_anonymous_id": "caid-kept"}, "context": {"page": 1}}'


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_switching_account_keeps_the_typed_payload(page, marketer, demo_account):
    first = demo_account("commanders_act", name="CA shop")
    second = demo_account("commanders_act", name="CA outlet")
    browser_login(page, marketer.username)
    page.goto(f"/events/new/?account={first.pk}")
    page.fill("[data-testid=event-type]", "purchase")
    page.fill("#id_payload", TYPED)

    with page.expect_navigation():
        page.select_option("#id_account", str(second.pk))

    assert page.locator("#id_account").input_value() == str(second.pk)
    assert page.locator("[data-testid=event-type]").input_value() == "purchase"
    assert page.locator("#id_payload").input_value() == TYPED
    screenshot(page, "composer-account-switched")

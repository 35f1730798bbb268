"""An admin connects an Octy account in a real Chromium and tests the connection."""

from __future__ import annotations

import pytest

from dashboard.accounts.models import ConnectedAccount, Credential
from integrations.octy.sandbox import DEMO_SECRETS
from tests.conftest import browser_login, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def open_octy_form(page) -> None:
    page.get_by_role("link", name="Accounts", exact=True).click()
    page.get_by_role("link", name="Connect an account").click()
    page.click("[data-testid=provider-octy]")
    page.wait_for_selector("#id_secret_public_key")


@pytest.mark.worker
def test_an_admin_connects_an_octy_account_and_tests_the_connection(
    page, admin, sandbox, celery_worker
):
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    browser_login(page, admin.username)
    open_octy_form(page)

    page.fill("#id_name", "Octy shop")
    page.fill("#id_base_url", sandbox["octy"].url)
    page.fill("#id_secret_public_key", DEMO_SECRETS["public_key"])
    page.fill("#id_secret_secret_key", DEMO_SECRETS["secret_key"])
    page.get_by_role("button", name="Connect").click()

    page.wait_for_selector("h1:has-text('Octy shop')")
    assert "Connected Octy shop." in page.locator(".messages").inner_text()
    recent = page.locator("#recent-checks [data-testid=check]")
    before = recent.count()
    page.click("[data-testid=test-account]")
    result = page.locator("#check-result [data-testid=check][data-status=ok]")
    result.wait_for()
    assert "Passed" in result.inner_text()
    # #16 defect 6: the Recent checks panel is re-rendered with the new check.
    page.wait_for_function(
        "n => document.querySelectorAll('#recent-checks [data-testid=check]').length > n",
        arg=before,
    )
    assert "Not checked yet" not in page.locator("#recent-checks").inner_text()
    screenshot(page, "accounts-connected")

    account = ConnectedAccount.objects.get(name="Octy shop")
    assert account.base_url == sandbox["octy"].url
    assert Credential.objects.filter(account=account, state="active").count() == 1
    assert DEMO_SECRETS["secret_key"] not in page.content()
    assert problems == []


def test_an_invalid_base_url_shows_the_error_next_to_the_field(page, admin, sandbox):
    browser_login(page, admin.username)
    open_octy_form(page)

    page.fill("#id_name", "Octy typo")
    page.fill("#id_base_url", "api.octy.ai/without-scheme")
    page.fill("#id_secret_public_key", DEMO_SECRETS["public_key"])
    page.fill("#id_secret_secret_key", DEMO_SECRETS["secret_key"])
    page.get_by_role("button", name="Connect").click()

    field = page.locator(".field.has-error", has=page.locator("#id_base_url"))
    field.wait_for()
    assert "must be an absolute http:// or https:// URL" in field.locator(".errorlist").inner_text()
    assert page.input_value("#id_name") == "Octy typo"
    assert page.input_value("#id_base_url") == "api.octy.ai/without-scheme"
    assert page.input_value("#id_secret_public_key") == ""
    assert page.input_value("#id_secret_secret_key") == ""
    # #16 defect 3: the keys are the one thing not kept, and the form says so.
    assert "type the key again" in page.locator("[data-testid=secrets-cleared]").inner_text()
    screenshot(page, "accounts-form-error")
    assert not ConnectedAccount.objects.filter(name="Octy typo").exists()

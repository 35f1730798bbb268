"""Delivery pace in a real Chromium (#17): an admin gives an account its own pace,
types a mistake and sees it kept with the reason, then puts the default back; a
marketer reads the same paces with no form."""

from __future__ import annotations

import pytest

from dashboard.events import pacing
from tests.conftest import browser_login, screenshot

pytestmark = [pytest.mark.browser]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_an_admin_sets_a_pace_corrects_a_mistake_and_resets_it(page, admin, demo_account):
    account = demo_account("commanders_act", name="Tags shop")
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    browser_login(page, admin.username)
    page.goto("/events/pace/")
    row = page.locator(f"#pace-{account.pk}")
    assert "the provider's default" in row.locator("[data-testid=pace-source]").inner_text()

    prefix = f"#id_pace-{account.pk}"
    page.fill(f"{prefix}-rate", "90")
    page.select_option(f"{prefix}-per", "minute")
    page.fill(f"{prefix}-concurrency", "3")
    row.locator("button[value=save]").click()
    sentence = page.locator(f"#pace-{account.pk} [data-testid=pace-sentence]")
    sentence.wait_for()
    assert "Tags shop" in sentence.inner_text()
    assert page.locator(f"#pace-{account.pk} [data-testid=pace-rate]").inner_text() == (
        "90 requests/min"
    )
    assert pacing.pace_for(account) == pacing.Pace(rate=1.5, concurrency=3)
    screenshot(page, "pace-set")

    # A mistake comes back in the row as typed, with the reason, and changes nothing.
    page.fill(f"{prefix}-rate", "-4")
    page.locator(f"#pace-{account.pk} button[value=save]").click()
    refused = page.locator(f"#pace-{account.pk} [data-testid=pace-sentence]")
    refused.locator("text=was not changed").wait_for()
    assert page.input_value(f"{prefix}-rate") == "-4"
    assert page.locator(f"#pace-{account.pk} .errorlist").count() >= 1
    assert pacing.pace_for(account) == pacing.Pace(rate=1.5, concurrency=3)
    screenshot(page, "pace-refused")

    page.locator(f"#pace-{account.pk} button[value=reset]").click()
    page.locator(
        f'#pace-{account.pk} [data-testid=pace-source]:has-text("the provider\'s default")'
    ).wait_for()
    assert page.locator(f"#pace-{account.pk} [data-testid=pace-sentence]").inner_text()
    assert pacing.pace_for(account) == pacing.default_pace(account.provider)
    screenshot(page, "pace-reset")
    assert problems == []


def test_a_marketer_reads_the_paces_without_a_form(page, marketer, demo_account):
    account = demo_account("commanders_act", name="Tags shop")
    pacing.pace_set(account=account, requests_per_second=5, concurrency=2)
    browser_login(page, marketer.username)
    page.goto("/events/")
    page.get_by_role("link", name="Delivery pace").click()
    page.locator(f"#pace-{account.pk}").wait_for()
    assert page.locator(f"#pace-{account.pk} [data-testid=pace-rate]").inner_text() == (
        "5 requests/s"
    )
    assert page.locator("form.pace-form").count() == 0
    screenshot(page, "pace-marketer")

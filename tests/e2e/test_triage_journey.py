"""Issue #20 in a real Chromium: a support user assigns and snoozes an error group; an
admin copies a call as cURL and the clipboard holds no secret."""

from __future__ import annotations

import base64

import pytest

from dashboard.accounts.encryption import decrypt_secrets
from dashboard.accounts.models import Credential
from dashboard.accounts.services import provider_client
from dashboard.calls.models import ApiCall, ErrorGroup
from integrations.errors import ProviderError
from integrations.octy import PROVIDER as OCTY
from integrations.sandbox import Fault
from tests.conftest import browser_login, flush_call_log, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_a_support_user_assigns_and_snoozes_a_group(page, support, sandbox, demo_account):
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    account = demo_account("octy", name="Octy shop")
    sandbox["octy"].app.faults.add(Fault(kind="status", status=503, count=2))
    client = provider_client(account)
    for _ in range(2):
        with pytest.raises(ProviderError):
            client.event_types("0")

    browser_login(page, support.username)
    page.get_by_role("link", name="Errors", exact=True).click()
    page.locator("a.group-title").first.click()
    page.select_option("#assign-assignee", label=support.username)
    page.click("[data-testid=assign]")
    page.wait_for_selector(f"[data-testid=group-assignee]:has-text('{support.username}')")
    page.fill("#snooze-occurrences", "5")
    page.click("[data-testid=snooze]")
    page.wait_for_selector("[data-testid=group-snooze]:has-text('5 more occurrences')")
    assert "assign" in page.locator("[data-testid=notes]").inner_text()
    screenshot(page, "triage-group-snoozed")

    page.get_by_role("link", name="Errors", exact=True).click()
    page.wait_for_selector("section.empty:has-text('No error groups match')")
    page.select_option("#f-snoozed", "only")
    page.wait_for_selector("table[data-testid=groups] [data-testid=snoozed]")
    page.select_option("#f-assigned", "me")
    row = page.locator("table[data-testid=groups] tbody tr")
    row.first.wait_for()
    assert row.count() == 1
    assert row.locator("[data-testid=assignee]").inner_text() == support.username
    screenshot(page, "triage-errors-mine-snoozed")
    group = ErrorGroup.objects.get()
    assert group.assignee == support
    assert group.snoozed_until_count == group.count + 5
    assert problems == []


def test_an_admin_copies_a_call_as_curl_without_the_secret(page, admin, demo_account):
    account = demo_account("octy", name="Octy shop")
    provider_client(account).event_types("0")
    flush_call_log()
    call = ApiCall.objects.get()
    secrets = decrypt_secrets(Credential.objects.get(account=account).ciphertext)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])

    browser_login(page, admin.username)
    page.goto(f"/calls/{call.pk}/")
    page.click("[data-testid=copy-curl]")
    page.wait_for_selector("[data-copy-status]:has-text('Copied')")
    copied = page.evaluate("navigator.clipboard.readText()")
    screenshot(page, "curl-call-copied")

    assert copied.startswith("curl -X GET ")
    assert '-u "$OCTY_PUBLIC_KEY:$OCTY_SECRET_KEY"' in copied
    assert copied == page.locator("[data-testid=curl-text]").inner_text()
    for value in OCTY.secret_values(secrets):
        assert value not in copied
        assert base64.b64encode(value.encode()).decode() not in copied

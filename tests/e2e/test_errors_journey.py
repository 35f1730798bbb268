"""An error burst injected in the sandbox becomes a group; an admin resolves it; it
comes back and the Errors page (polling) shows it regressed — in a real Chromium."""

from __future__ import annotations

import pytest

from dashboard.accounts.services import provider_client
from dashboard.calls.models import ErrorGroup
from integrations.errors import ProviderError
from integrations.sandbox import Fault
from tests.conftest import browser_login, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def burst(account, sandbox, count: int) -> None:
    """``count`` failed calls: the Octy sandbox answers 503 to each."""
    sandbox["octy"].app.faults.add(Fault(kind="status", status=503, count=count))
    client = provider_client(account)
    for _ in range(count):
        with pytest.raises(ProviderError):
            client.event_types("0")


def test_an_error_burst_is_grouped_resolved_and_regresses(
    page, admin, sandbox, demo_account, settings
):
    settings.ERRORS_POLL_SECONDS = 1
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    account = demo_account("octy", name="Octy shop")
    burst(account, sandbox, 6)

    browser_login(page, admin.username)
    page.get_by_role("link", name="Errors", exact=True).click()
    row = page.locator("table[data-testid=groups] tbody tr").first
    row.wait_for()
    assert row.locator("[data-testid=count]").inner_text() == "6"
    assert row.locator("[data-testid=state]").inner_text() == "New"
    assert row.locator("svg.sparkline rect.bar:not(.zero)").count() == 1
    screenshot(page, "errors-groups")

    row.locator("a.group-title").click()
    page.wait_for_selector("[data-testid=group-chart] svg.barchart")
    assert page.locator("[data-testid=group-count]").inner_text() == "6"
    assert page.locator("[data-testid=occurrences] tbody tr").count() == 6
    page.fill("#id_note", "Octy maintenance window, over now")
    page.click("[data-testid=resolve]")
    page.wait_for_selector("[data-testid=group-state]:has-text('Resolved')")
    assert "Octy maintenance window, over now" in page.locator("[data-testid=notes]").inner_text()
    screenshot(page, "errors-group-resolved")

    page.get_by_role("link", name="Errors", exact=True).click()
    state = page.locator("table[data-testid=groups] [data-testid=state]").first
    assert state.inner_text() == "Resolved"
    burst(account, sandbox, 1)
    # No reload: the page's live update brings the regression in.
    page.wait_for_selector("table[data-testid=groups] [data-testid=state]:has-text('Regressed')")
    assert page.locator("table[data-testid=groups] [data-testid=count]").first.inner_text() == "7"
    screenshot(page, "errors-group-regressed")

    group = ErrorGroup.objects.get()
    assert group.state == "regressed"

    page.get_by_role("link", name="Overview", exact=True).click()
    summary = page.locator("[data-testid=daily-summary]")
    assert summary.locator("[data-testid=new-groups]").inner_text() == "1"
    assert summary.locator("[data-testid=regressed-groups]").inner_text() == "1"
    row = page.locator(f"table[data-testid=account-ops] tr[data-account='{account.pk}']")
    assert row.locator("[data-testid=calls]").inner_text() == "7"
    assert row.locator("[data-testid=failed]").inner_text() == "7"
    screenshot(page, "errors-overview")
    assert problems == []

"""An admin sets up alerting in a real Chromium: a signed webhook destination and a
"new error group" rule; calls with a revoked Croct key fail in the sandbox; two
evaluation passes run (as two beats would) and the alert shows once in the history
and arrives once, signed, at the receiver."""

from __future__ import annotations

import os
import uuid

import pytest
from django.core.management import call_command

from dashboard.accounts.services import provider_client
from integrations.croct.models import ContentRequest
from integrations.errors import ProviderError
from tests.alerts.conftest import receiver  # noqa: F401  (the webhook receiver fixture)
from tests.conftest import browser_login, flush_call_log, screenshot

pytestmark = pytest.mark.browser

# The Croct sandbox rejects any key containing 0000dead: a revoked key.
REVOKED_KEY = "0000dead-0000-4000-8000-000000000000"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_an_admin_creates_a_rule_and_a_revoked_key_alerts_once(
    page,
    admin,
    demo_account,
    receiver,  # noqa: F811
    tmp_path,
):
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    account = demo_account("croct", name="Croct storefront", secrets={"api_key": REVOKED_KEY})
    browser_login(page, admin.username)

    page.get_by_role("link", name="Alerts", exact=True).click()
    page.fill("#id_target", receiver.url)
    page.fill("#id_label", "ops receiver")
    page.click("[data-testid=add-destination]")
    receiver.secret = page.locator("[data-testid=signing-secret]").inner_text().strip()
    assert receiver.secret.startswith("whsec_")

    page.select_option("#id_kind", "new_group")
    page.select_option("#id_destinations", label="ops receiver")
    page.select_option("#id_provider", "croct")
    page.click("[data-testid=add-rule]")
    page.wait_for_selector(".messages >> text=Rule")
    assert "A new error group appears" in page.locator("[data-testid=rules]").inner_text()
    screenshot(page, "alerts-rule-added")

    client = provider_client(account)
    for _ in range(3):
        with pytest.raises(ProviderError):
            client.content(ContentRequest(slot_id="home-hero", client_id=str(uuid.uuid4())))

    # The failed calls reach the log through the background writer, as in production.
    flush_call_log()
    out = tmp_path / "run.txt"
    with out.open("w") as stream:
        call_command("run_alerts", stdout=stream)
        call_command("run_alerts", stdout=stream)

    page.goto("/alerts/")
    rows = page.locator("[data-testid=alert-history] [data-testid=alert-row]")
    assert rows.count() == 1
    text = rows.first.inner_text()
    assert "Croct storefront" in text
    assert "croct" in text
    assert "Sent" in text
    assert REVOKED_KEY not in page.content()
    screenshot(page, "alerts-history")

    assert len(receiver.received) == 1
    assert receiver.received[0].verified
    assert receiver.payloads[0]["account"] == "Croct storefront"

    rows.first.locator("a").first.click()
    page.wait_for_selector("[data-testid=deliveries]")
    assert page.locator("[data-testid=delivery-state]").inner_text() == "Sent"
    page.get_by_role("link", name="what happened").click()
    page.wait_for_selector("[data-testid=alerts-panel]")
    assert "Croct storefront" in page.locator("[data-testid=panel-alerts]").inner_text()
    screenshot(page, "alerts-group-panel")
    assert not problems


def test_the_alert_page_lists_each_try_with_the_destinations_answer(
    page,
    admin,
    receiver,  # noqa: F811
    settings,
):
    from dashboard.alerts import services
    from tests.calls.conftest import croct_problem, make_account, record

    # No backoff wait: the second run_alerts is the retry (the worker's countdown
    # schedules it in production; tests/faults/test_alert_delivery_chaos.py covers that).
    settings.ALERTS_RETRY_BASE_SECONDS = 0
    created = services.destination_create(target=receiver.url, label="ops receiver")
    receiver.secret = created.signing_secret
    receiver.script = [500]
    services.rule_add(kind="new_group", destinations=[created.destination])
    record(croct_problem(401, "authentication/unknown-api-key"), account=make_account("Shop EU"))
    call_command("run_alerts", stdout=open(os.devnull, "w"))  # noqa: SIM115
    call_command("run_alerts", stdout=open(os.devnull, "w"))  # noqa: SIM115

    browser_login(page, admin.username)
    page.goto("/alerts/")
    page.locator("[data-testid=alert-row] a").first.click()
    tries = page.locator("[data-testid=delivery-try]")
    assert tries.count() == 2
    assert "Failed, retrying" in tries.nth(0).inner_text()
    assert "HTTP 500: upstream exploded" in tries.nth(0).inner_text()
    assert "Sent" in tries.nth(1).inner_text()
    screenshot(page, "alerts-delivery-tries")

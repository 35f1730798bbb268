"""The Alerts pages in a real Chromium, as admin, support and marketer, with hostile
input in every form field and query parameter: NUL bytes, 100,000-character strings,
odd encodings, numbers out of range, and webhook destinations pointing at the cloud
metadata service and the console's own Redis. Every answer is a page with a sentence
the user can act on: never a 500, never raw exception text, and what was typed is
still in the form."""

from __future__ import annotations

import pytest

from dashboard.alerts import services
from dashboard.alerts.models import AlertRule, Destination
from tests.calls.conftest import croct_problem, make_account, record
from tests.conftest import browser_login, make_user, screenshot
from tests.e2e.hostile import HUGE, NUL, ODD, RAW_ERROR
from tests.e2e.hostile import answered_in_words as _assert_answered_in_words
from tests.e2e.hostile import submit_tampered as _submit

pytestmark = pytest.mark.browser

METADATA = "http://169.254.169.254/latest/meta-data/"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def console_redis(settings):
    # The console's broker on the usual Redis port: the destination a hostile admin
    # (or a pasted URL) would aim at to talk to Redis through the webhook sender.
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/0"
    return "http://127.0.0.1:6379"


def test_an_admin_gets_a_sentence_for_every_hostile_field(page, admin, console_redis):
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    browser_login(page, admin.username)
    page.goto("/alerts/")

    # Destinations: every bad target is refused at its field, and stays typed there.
    bad_targets = {
        NUL: "Null characters are not allowed",
        HUGE: "at most 2000 characters",
        ODD: "neither an email address nor a URL",
        METADATA: "cloud metadata",
        console_redis: "console's own services",
        "http://127.0.0.1:99999/x": "port",
        "javascript:alert(1)": "neither an email address nor a URL",
    }
    for target, sentence in bad_targets.items():
        status = _submit(page, "[data-testid=destination-form]", {"target": target, "label": NUL})
        _assert_answered_in_words(page, status, expect=sentence)
        if "\x00" not in target and len(target) <= 2000:
            assert page.input_value("#id_target") == target
        screenshot(page, f"alerts-hostile-destination-{abs(hash(target)) % 1000}")
    for label in (NUL, HUGE, ODD):
        status = _submit(
            page,
            "[data-testid=destination-form]",
            {"target": "oncall@example.com", "label": label},
        )
        _assert_answered_in_words(page, status)
    # Only the odd-but-valid label made it in (NUL and 100k are refused in words).
    # Kept without the bidi override that made "evil" read "live" on the page.
    assert list(Destination.objects.values_list("label", flat=True)) == ["café evil 💥"]
    destination = Destination.objects.get()

    # Rules: tampered choices and out-of-range or absurd numbers.
    page.goto("/alerts/")
    rule_cases = [
        ({"kind": NUL, "destinations": str(destination.pk)}, "Select a valid choice"),
        ({"kind": HUGE, "destinations": str(destination.pk)}, "Select a valid choice"),
        ({"kind": "new_group", "destinations": NUL}, "Select a valid choice"),
        ({"kind": "new_group", "destinations": "9" * 40}, "Select a valid choice"),
        ({"kind": "new_group", "destinations": " "}, "Select a valid choice"),
        (
            {"kind": "new_group", "destinations": str(destination.pk), "provider": NUL},
            "Select a valid choice",
        ),
        (
            {"kind": "new_group", "destinations": str(destination.pk), "account": HUGE},
            "Select a valid choice",
        ),
        (
            {"kind": "new_group", "destinations": str(destination.pk), "error_kind": ODD},
            "Select a valid choice",
        ),
        (
            {"kind": "escalating_group", "destinations": str(destination.pk), "count": "9" * 5000},
            "whole number",
        ),
        (
            {"kind": "escalating_group", "destinations": str(destination.pk), "minutes": "-5"},
            "must be between",
        ),
        (
            {"kind": "failure_rate", "destinations": str(destination.pk), "percent": NUL},
            "whole number",
        ),
        (
            {"kind": "key_age", "destinations": str(destination.pk), "days": "1e309"},
            "whole number",
        ),
    ]
    for values, sentence in rule_cases:
        status = _submit(page, "[data-testid=rule-form]", values)
        _assert_answered_in_words(page, status, expect=sentence)
    screenshot(page, "alerts-hostile-rule")
    assert AlertRule.objects.count() == 0

    # A rule that is fine, then hostile snooze hours on it.
    page.select_option("#id_kind", "new_group")
    page.select_option("#id_destinations", str(destination.pk))
    page.click("[data-testid=add-rule]")
    page.wait_for_selector(".messages >> text=Rule")
    rule = AlertRule.objects.get()
    for hours in (NUL, HUGE, "-1", "100000", "1.5"):
        status = _submit(page, f"form[action='/alerts/rules/{rule.pk}/snooze/']", {"hours": hours})
        _assert_answered_in_words(page, status, expect="Snooze for 0 to 720 hours")
    rule.refresh_from_db()
    assert rule.snoozed_until is None

    # Query parameters of the history and the panel.
    for query in (
        f"?account={NUL}",
        f"?rule={HUGE[:5000]}",
        "?group=-1",
        "?digest=9999999999999999999999",
        f"?cursor={ODD}",
        "?cursor=%00%ff%fe",
    ):
        response = page.goto("/alerts/" + query)
        _assert_answered_in_words(page, response.status)
    for query in ("?group=%00", f"?account={HUGE[:5000]}", "?group=1&next=//evil.example"):
        response = page.goto("/alerts/panel/" + query)
        assert response.status in (200, 404), response.status
        assert not RAW_ERROR.search(page.content())
    screenshot(page, "alerts-hostile-done")
    # The changes that went through are on the Audit page in words.
    page.goto("/audit/")
    trail = page.locator("[data-testid=audit]").inner_text()
    assert "Added alert destination" in trail
    assert f"Added alert rule\t\tAlert rule {rule.pk}: A new error group appears" in trail
    screenshot(page, "alerts-audit-trail")
    assert not [p for p in problems if "500" in p]


@pytest.mark.parametrize("role", ["support", "marketer"])
def test_support_and_marketers_read_the_history_and_are_refused_changes(page, role, db):
    user = make_user(role, f"{role}-walker")
    record(croct_problem(401, "authentication/unknown-api-key"), account=make_account("Shop"))
    destination = services.destination_create(target="oncall@example.com").destination
    services.rule_add(kind="new_group", destinations=[destination])
    from dashboard.alerts.engine import alerts_run

    alerts_run()
    browser_login(page, user.username)
    response = page.goto("/alerts/")
    text = _assert_answered_in_words(page, response.status, expect="History")
    assert "Add a rule" not in text
    assert "Shop" in text
    screenshot(page, f"alerts-history-{role}")
    for query in (f"?account={NUL}", f"?cursor={HUGE[:5000]}"):
        response = page.goto("/alerts/" + query)
        _assert_answered_in_words(page, response.status)
    # A forged POST (the forms are not on their page), with the session's valid CSRF
    # token (the logout form's), is refused for want of the permission.
    token = page.locator("input[name=csrfmiddlewaretoken]").first.input_value()
    answer = page.request.post(
        "/alerts/destinations/",
        form={"target": METADATA, "label": NUL, "csrfmiddlewaretoken": token},
        headers={"Referer": page.url},
    )
    assert answer.status == 403
    assert "CSRF" not in answer.text()
    assert not RAW_ERROR.search(answer.text())
    assert Destination.objects.count() == 1

"""Team and access in a real Chromium: an invitation through to two-factor and a lost
device, an admin stopped at enrolment, a single sign-on landing in its role, and a
deactivated person's open session refused."""

from __future__ import annotations

import re
import time
from html import unescape
from pathlib import Path

import pytest
from allauth.mfa.models import Authenticator
from auditlog.models import LogEntry
from django.contrib.auth.models import User

from dashboard.core.roles import role_of
from tests.conftest import browser_login, make_user, screenshot, totp_code
from tests.team.oidc_provider import Person

pytestmark = pytest.mark.browser

COLLEAGUE_PASSWORD = "plum-orbit-canvas-1187"
LINK = re.compile(r"https?://\S+/team/join/[\w-]+/")


@pytest.fixture(autouse=True)
def _fresh_cache():
    # allauth remembers used TOTP codes in the cache (no replay within the window);
    # user ids repeat across tests, so a code from an earlier test must not count.
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def mail_folder(settings) -> Path:
    # The embedded default: invitations are written as files under var/mail.
    folder = Path(settings.VAR_DIR) / "mail"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(folder)
    return folder


@pytest.fixture
def second_browser(browser, live_server):
    """Another person's browser (its own cookies) on the same console."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 860})
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def _code_for(secret: str, used: set[str]) -> str:
    """The code an app set up with ``secret`` shows now; waits for the next 30-second
    period when this one's code was already used (allauth refuses a replayed code)."""
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    while True:
        code = format_hotp_value(hotp_value(secret, int(time.time()) // 30))
        if code not in used:
            used.add(code)
            return code
        time.sleep(1)


def _password_step(page, username: str, password: str) -> None:
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("form[action='/login/'] button[type=submit]")
    page.wait_for_load_state()


def _second_factor(page, code: str) -> None:
    assert "/auth/2fa/authenticate/" in page.url, page.url
    page.fill("input[name=code]", code)
    page.locator("form:has(input[name=code]) button[type=submit]").first.click()
    page.wait_for_load_state()


def _log_out(page) -> None:
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url("**/login/**")


def _messages(page) -> str:
    return page.locator(".messages").inner_text()


def _enrol(page, shot: str) -> tuple[str, list[str]]:
    """On the enrolment page: read the secret (as a person types it into their app),
    answer with the app's code. Returns the secret and the recovery codes shown once."""
    page.wait_for_url("**/auth/2fa/totp/activate/**")
    assert page.locator("img[src^='data:image/svg+xml;base64,']").is_visible()  # the QR
    secret = re.search(r'value="([A-Z2-7]{32})"', page.content()).group(1)
    screenshot(page, f"{shot}-enrol")
    page.fill("input[name=code]", _code_for(secret, set()))
    page.locator("form:has(input[name=code]) button[type=submit]").first.click()
    page.wait_for_url("**/auth/2fa/recovery-codes/**")
    # The codes sit in a read-only text box, so read the page's markup.
    codes = list(dict.fromkeys(re.findall(r"\b[0-9a-f]{8}\b", unescape(page.content()))))
    assert len(codes) >= 10, page.content()[:3000]
    screenshot(page, f"{shot}-recovery-codes")
    return secret, codes


def test_invite_accept_enrol_sign_in_recover_and_reset(page, second_browser, admin, mail_folder):
    # An admin invites a colleague from the Team page.
    browser_login(page, admin.username)
    page.get_by_test_id("team-link").click()
    page.fill("#id_username", "dana")
    page.fill("#id_email", "dana@example.com")
    page.select_option("#id_role", "admin")
    page.get_by_role("button", name="Send invitation").click()
    assert f"Invitation mailed to dana@example.com (written to {mail_folder})." in _messages(page)
    assert "invited" in page.locator("tr[data-username=dana]").inner_text()
    screenshot(page, "team-invited")

    # The link from the mail file, opened in the colleague's browser.
    (mail,) = mail_folder.iterdir()
    link = LINK.search(mail.read_text()).group(0)
    colleague = second_browser
    colleague.goto(link)
    assert colleague.locator("h1").inner_text() == "Welcome, dana"
    colleague.fill("#id_password1", COLLEAGUE_PASSWORD)
    colleague.fill("#id_password2", COLLEAGUE_PASSWORD)
    screenshot(colleague, "team-accept")
    colleague.get_by_role("button", name="Set password").click()
    colleague.wait_for_url("**/login/**")
    assert "Your password is set. Sign in with it now." in _messages(colleague)

    # First sign-in: an admin must enrol before anything else.
    _password_step(colleague, "dana", COLLEAGUE_PASSWORD)
    secret, codes = _enrol(colleague, "team-dana")
    dana = User.objects.get(username="dana")
    assert Authenticator.objects.filter(user=dana, type=Authenticator.Type.TOTP).exists()
    colleague.goto("/")
    assert colleague.locator("[data-testid=role]").inner_text() == "admin"
    _log_out(colleague)

    # Signing in again: the password, then a code from the app.
    _password_step(colleague, "dana", COLLEAGUE_PASSWORD)
    screenshot(colleague, "team-code-asked")
    used = {totp_code(dana)}  # the enrolment answered with this period's code
    _second_factor(colleague, _code_for(secret, used))
    assert colleague.locator("[data-testid=role]").inner_text() == "admin"
    _log_out(colleague)

    # Without the phone: one of the recovery codes.
    _password_step(colleague, "dana", COLLEAGUE_PASSWORD)
    _second_factor(colleague, codes[0])
    assert colleague.locator("[data-testid=role]").inner_text() == "admin"

    # Device lost: the other admin resets it from the Team page (audited).
    page.goto("/team/")
    page.locator("tr[data-username=dana]").get_by_role("button", name="Reset two-factor").click()
    page.wait_for_load_state()
    assert (
        "Two-factor reset for dana (2 authenticators removed); "
        "they enrol again at their next sign-in." in _messages(page)
    )
    screenshot(page, "team-mfa-reset")
    entry = LogEntry.objects.get(additional_data__action="staff_mfa_reset")
    assert entry.actor == admin
    assert entry.additional_data["staff"] == "dana"
    assert not Authenticator.objects.filter(user=dana).exists()

    # The colleague's open session ended; signing in asks them to enrol again.
    colleague.goto("/")
    assert "/login/" in colleague.url
    _password_step(colleague, "dana", COLLEAGUE_PASSWORD)
    colleague.wait_for_url("**/auth/2fa/totp/activate/**")
    assert "Admins must set up two-factor authentication" in _messages(colleague)
    screenshot(colleague, "team-enrol-again")


def test_an_admin_without_two_factor_is_stopped_at_enrolment(page, db):
    fresh = make_user("admin", "fresh-admin")
    Authenticator.objects.filter(user=fresh).delete()
    _password_step(page, fresh.username, "correct-horse-battery-staple-42")
    page.wait_for_url("**/auth/2fa/totp/activate/**")
    for path in ("/", "/accounts/", "/team/", "/audit/"):
        page.goto(path)
        assert "/auth/2fa/totp/activate/" in page.url, path
    screenshot(page, "team-admin-stopped")
    assert "Admins must set up two-factor authentication" in _messages(page)


def test_an_sso_sign_in_lands_in_the_role_its_group_maps_to(page, idp, transactional_db):
    idp.next_user = Person("idp-21", "riley", "riley@example.com", ["staff", "sy-support"])
    page.goto("/login/")
    screenshot(page, "team-sso-login")
    page.get_by_test_id("sso").click()
    page.wait_for_selector("[data-testid=role]")
    assert page.locator("[data-testid=role]").inner_text() == "support"
    riley = User.objects.get(username="riley")
    assert role_of(riley) == "support"
    assert not riley.has_usable_password()
    page.goto("/team/security/password/")
    screenshot(page, "team-sso-password")
    assert "single sign-on" in page.locator("main").inner_text()


def test_a_deactivated_persons_open_session_is_refused(page, second_browser, admin, marketer):
    browser_login(second_browser, marketer.username)
    assert second_browser.locator("[data-testid=role]").inner_text() == "marketer"

    browser_login(page, admin.username)
    page.goto("/team/")
    row = page.locator(f"tr[data-username='{marketer.username}']")
    row.get_by_role("button", name="Deactivate").click()
    page.wait_for_load_state()
    assert f"{marketer.username} is deactivated (1 sessions ended)." in _messages(page)

    second_browser.goto("/events/")
    assert "/login/" in second_browser.url
    screenshot(second_browser, "team-deactivated-refused")
    _password_step(second_browser, marketer.username, "correct-horse-battery-staple-42")
    assert "This account is inactive." in second_browser.locator("main").inner_text()

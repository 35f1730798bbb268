"""Two-factor through allauth's real pages: enrol an app (QR + secret), sign in with a
code, use a recovery code once, lose the device (an admin resets it), lock-out."""

from __future__ import annotations

import re
from html import unescape

from allauth.mfa.models import Authenticator
from auditlog.models import LogEntry
from django.urls import reverse

from tests.conftest import PASSWORD, make_user, totp_code
from tests.team.conftest import password_step, sign_in


def _admin_without_mfa(username="fresh-admin"):
    user = make_user("admin", username)
    Authenticator.objects.filter(user=user).delete()
    return user


def _enrol_in_the_page(client, user) -> list[str]:
    """Open the enrolment page, read the secret as a person would (they scan the QR),
    answer with the app's code. Returns the recovery codes shown once afterwards."""
    import time

    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    body = page.content.decode()
    assert 'src="data:image/svg+xml;base64,' in body  # the QR code
    secret = re.search(r'id="authenticator_secret"[^>]*value="([A-Z2-7]+)"', body)
    secret = secret or re.search(r'value="([A-Z2-7]{32})"', body)
    assert secret, "the secret is shown for manual entry"
    code = format_hotp_value(hotp_value(secret.group(1), int(time.time()) // 30))
    response = client.post(reverse("mfa_activate_totp"), {"code": code})
    assert response.status_code == 302, response.content.decode()[:2000]
    shown = client.get(response.url)
    codes = re.findall(r"\b[0-9a-f]{8}\b", unescape(shown.content.decode()))
    assert len(codes) >= 10
    return codes


def test_an_admin_without_a_second_factor_is_sent_to_enrol_first(client, db):
    admin = _admin_without_mfa()
    response = password_step(client, admin.username)
    assert response.status_code == 302
    for url in (reverse("overview"), reverse("accounts:list"), reverse("team:list")):
        stopped = client.get(url)
        assert stopped.status_code == 302, url
        assert stopped.url.startswith(reverse("mfa_activate_totp")), url
    _enrol_in_the_page(client, admin)
    assert client.get(reverse("overview")).status_code == 200


def test_other_roles_may_but_need_not_enrol(client_for, marketer):
    client = client_for(marketer)
    assert client.get(reverse("overview")).status_code == 200
    assert client.get(reverse("mfa_index")).status_code == 200


def test_enrol_sign_in_with_a_code_then_a_recovery_code_then_reset(client, admin):
    user = _admin_without_mfa("ops-admin")
    password_step(client, user.username)
    codes = _enrol_in_the_page(client, user)
    client.post(reverse("logout"))

    # Password alone is not enough any more.
    response = password_step(client, user.username)
    assert response.url.startswith(reverse("mfa_authenticate"))
    assert client.get(reverse("overview")).status_code == 302
    assert client.post(reverse("mfa_authenticate"), {"code": totp_code(user)}).status_code == 302
    assert client.get(reverse("overview")).status_code == 200
    client.post(reverse("logout"))

    # A recovery code works once.
    password_step(client, user.username)
    assert client.post(reverse("mfa_authenticate"), {"code": codes[0]}).status_code == 302
    assert client.get(reverse("overview")).status_code == 200
    client.post(reverse("logout"))
    password_step(client, user.username)
    reused = client.post(reverse("mfa_authenticate"), {"code": codes[0]})
    assert reused.status_code == 200  # form again, with an error
    assert client.get(reverse("overview")).status_code == 302
    client.post(reverse("logout"))

    # Device lost: another admin resets it; the next sign-in asks to enrol again.
    other = sign_in(client, admin)
    assert other.status_code == 302
    assert client.post(reverse("team:mfa_reset", args=[user.pk])).status_code == 302
    assert not Authenticator.objects.filter(user=user).exists()
    entry = LogEntry.objects.filter(additional_data__action="staff_mfa_reset").get()
    assert entry.actor == admin
    assert entry.additional_data["staff"] == user.username
    client.post(reverse("logout"))
    response = password_step(client, user.username)
    assert not response.url.startswith(reverse("mfa_authenticate"))
    assert client.get(reverse("overview")).url.startswith(reverse("mfa_activate_totp"))


def test_wrong_codes_lock_the_second_factor_out_like_passwords(client, admin, settings):
    password_step(client, admin.username)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        wrong = client.post(reverse("mfa_authenticate"), {"code": "000000"})
        assert wrong.status_code == 200
    locked = client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert locked.status_code == 429
    assert "Too many failed log-ins" in locked.content.decode()
    # Even the right code (and the right password) is refused while locked.
    fresh = type(client)()
    response = fresh.post(reverse("login"), {"username": admin.username, "password": PASSWORD})
    assert response.status_code == 429
    assert fresh.get(reverse("overview")).status_code == 302


def test_a_correct_code_after_a_few_wrong_ones_still_signs_in(client, admin):
    password_step(client, admin.username)
    client.post(reverse("mfa_authenticate"), {"code": "000000"})
    assert client.post(reverse("mfa_authenticate"), {"code": totp_code(admin)}).status_code == 302
    assert client.get(reverse("overview")).status_code == 200


def test_the_code_of_the_period_just_ended_still_signs_in(client, admin):
    """A code typed as the period turns over is accepted (MFA_TOTP_TOLERANCE = 1)."""
    password_step(client, admin.username)
    response = client.post(reverse("mfa_authenticate"), {"code": totp_code(admin, offset=-1)})
    assert response.status_code == 302


def test_a_code_two_periods_old_is_refused(client, admin):
    password_step(client, admin.username)
    response = client.post(reverse("mfa_authenticate"), {"code": totp_code(admin, offset=-2)})
    assert response.status_code == 200
    assert client.get(reverse("overview")).status_code == 302


def test_secrets_are_encrypted_at_rest(admin):
    from dashboard.accounts.encryption import fernet

    stored = Authenticator.objects.get(user=admin, type=Authenticator.Type.TOTP).data["secret"]
    assert stored.startswith("gAAAA")  # a Fernet token, not the base32 secret
    assert re.fullmatch(r"[A-Z2-7]{32}", fernet().decrypt(stored.encode()).decode())

"""Rotating FIELD_ENCRYPTION_KEYS covers the two-factor secrets and alert destinations
too: after `reencrypt_credentials` the old key can go and everyone still signs in with
their app or a recovery code, and alerts still reach (and sign for) their targets."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from dashboard.alerts import services as alerts
from tests.conftest import make_user
from tests.team.conftest import password_step, sign_in

WEBHOOK = "http://127.0.0.1:9/alerts-hook?token=hook-token-4711"


def _reencrypt() -> dict:
    out = StringIO()
    call_command("reencrypt_credentials", "--json", stdout=out)
    return json.loads(out.getvalue())


def test_the_old_key_can_go_after_reencrypting_and_totp_still_signs_in(db, settings, client):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old_key]
    user = make_user("admin", "keyholder")  # enrolled with an app under the old key
    codes = RecoveryCodes.activate(user).get_unused_codes()
    created = alerts.destination_create(target=WEBHOOK)
    stored = {a.pk: dict(a.data) for a in Authenticator.objects.filter(user=user)}

    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    result = _reencrypt()

    assert result["two_factor"] == {"reencrypted": 2, "failed": 0, "failed_ids": []}
    assert result["alert_destinations"] == {"reencrypted": 1, "failed": 0, "failed_ids": []}
    for authenticator in Authenticator.objects.filter(user=user):
        for key in ("secret", "seed"):
            if key in stored[authenticator.pk]:
                assert authenticator.data[key] != stored[authenticator.pk][key]

    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key is gone
    assert sign_in(client, user).status_code == 302
    assert client.get(reverse("overview")).status_code == 200
    client.post(reverse("logout"))
    # The recovery codes shown before are still the same codes.
    password_step(client, user.username)
    assert client.post(reverse("mfa_authenticate"), {"code": codes[0]}).status_code == 302
    assert client.get(reverse("overview")).status_code == 200

    destination = created.destination
    destination.refresh_from_db()
    assert alerts.destination_target(destination).value == WEBHOOK
    assert alerts.destination_signing_secret(destination) == created.signing_secret


def test_a_two_factor_secret_no_key_opens_is_reported_and_left_alone(db, settings):
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    user = make_user("admin", "lost-key")
    totp = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)

    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    out = StringIO()
    with pytest.raises(CommandError, match=rf"two-factor authenticator ids \[{totp.pk}\]"):
        call_command("reencrypt_credentials", stdout=out)

    assert "Two-factor: 0 re-encrypted, 1 failed" in out.getvalue()
    assert Authenticator.objects.get(pk=totp.pk).data == totp.data

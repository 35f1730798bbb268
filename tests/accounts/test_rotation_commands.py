"""The rotate_credential and reencrypt_credentials commands."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from dashboard.accounts.encryption import decrypt_secrets
from dashboard.accounts.models import Credential
from dashboard.accounts.services import provider_client
from integrations.croct.sandbox import DEMO_SECRETS
from tests.accounts.conftest import NEW_KEY, OTHER_KEY, REJECTED_KEY


def run(name: str, *args: str) -> str:
    out = StringIO()
    call_command(name, *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_rotate_credential_verifies_promotes_and_reports_json(croct):
    out = run(
        "rotate_credential",
        croct.name,
        "--secret",
        f"api_key={NEW_KEY}",
        "--overlap-hours",
        "2",
        "--json",
    )

    result = json.loads(out)
    assert result["credential"]["state"] == "active"
    assert result["verification"]["status"] == "ok"
    assert result["previous"]["fingerprint"] == croct.credentials.get(state="previous").fingerprint
    assert result["credential"]["overlap_hours"] == 2
    assert NEW_KEY not in out
    assert decrypt_secrets(croct.credentials.get(state="active").ciphertext)["api_key"] == NEW_KEY


def test_rotate_credential_accepts_the_account_id(croct):
    out = run("rotate_credential", str(croct.pk), "--secret", f"api_key={NEW_KEY}")
    assert "is active on Croct shop" in out


def test_rotate_credential_exits_1_when_verification_fails_and_keeps_the_old_key(croct):
    out = StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command(
            "rotate_credential",
            croct.name,
            "--secret",
            f"api_key={REJECTED_KEY}",
            "--json",
            stdout=out,
        )

    assert excinfo.value.returncode == 1
    assert "previous key is still active" in str(excinfo.value)
    assert json.loads(out.getvalue())["credential"]["state"] == "failed"
    active = croct.credentials.get(state="active")
    assert decrypt_secrets(active.ciphertext) == DEMO_SECRETS
    assert REJECTED_KEY not in out.getvalue() + str(excinfo.value)


def test_rotate_credential_exits_2_on_bad_input_without_saving_or_echoing_it(croct):
    with pytest.raises(CommandError) as excinfo:
        run("rotate_credential", croct.name, "--secret", "api_key=not-a-key-value")
    assert excinfo.value.returncode == 2
    assert "not-a-key-value" not in str(excinfo.value)
    with pytest.raises(CommandError) as excinfo:
        run("rotate_credential", "No such account", "--secret", f"api_key={NEW_KEY}")
    assert excinfo.value.returncode == 2
    assert croct.credentials.count() == 1


def test_rotate_credential_exits_3_while_another_rotation_is_pending(croct):
    from dashboard.accounts import rotation

    rotation.credential_add(account=croct, secrets={"api_key": NEW_KEY}, enqueue=False)
    with pytest.raises(CommandError) as excinfo:
        run(
            "rotate_credential",
            croct.name,
            "--secret",
            f"api_key={OTHER_KEY}",
        )
    assert excinfo.value.returncode == 3
    assert "in progress" in str(excinfo.value)


def test_rotate_credential_needs_confirmation_for_a_provider_that_cannot_verify(demo_account):
    account = demo_account("commanders_act")
    with pytest.raises(CommandError) as excinfo:
        run("rotate_credential", account.name, "--secret", "source_key=bmV3LWtleQ==")
    assert excinfo.value.returncode == 2
    assert account.credentials.count() == 1

    out = run(
        "rotate_credential",
        account.name,
        "--secret",
        "source_key=bmV3LWtleQ==",
        "--confirm-unverified",
        "--json",
    )
    assert json.loads(out)["credential"]["state"] == "active"


def test_rotate_credential_from_a_shell_exits_with_the_status(croct, capsys):
    from django.core.management import ManagementUtility

    with pytest.raises(SystemExit) as excinfo:
        ManagementUtility(
            ["manage.py", "rotate_credential", croct.name, "--secret", f"api_key={REJECTED_KEY}"]
        ).execute()
    assert excinfo.value.code == 1


# --- encryption-key rotation ---------------------------------------------------------------
def test_reencrypt_then_dropping_the_old_key_still_decrypts_everything(
    settings, demo_account, rotate_in_process
):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [old_key]
    croct = demo_account("croct", name="Croct enc")
    octy = demo_account("octy", name="Octy enc")
    rotate_in_process(croct, NEW_KEY, overlap_hours=0)  # leaves a wiped (revoked) row
    plaintexts = {
        c.pk: decrypt_secrets(c.ciphertext) for c in Credential.objects.exclude(ciphertext="")
    }

    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    result = json.loads(run("reencrypt_credentials", "--json"))

    credentials = {key: result[key] for key in ("reencrypted", "wiped", "failed", "failed_ids")}
    assert credentials == {"reencrypted": 2, "wiped": 1, "failed": 0, "failed_ids": []}
    assert result["two_factor"]["failed"] == result["alert_destinations"]["failed"] == 0
    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key is gone
    for credential in Credential.objects.exclude(ciphertext=""):
        assert decrypt_secrets(credential.ciphertext) == plaintexts[credential.pk]
    # And the provider calls still authenticate with the re-encrypted keys.
    provider_client(croct)  # builds without SecretDecryptionError
    from dashboard.accounts.models import AccountCheck
    from dashboard.accounts.services import account_check_run

    check = AccountCheck.objects.create(account=octy)
    assert account_check_run(check_id=check.pk).status == "ok"


def test_reencrypt_reports_rows_no_key_opens_and_exits_non_zero(settings, croct):
    before = croct.credentials.get().ciphertext
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]

    out = StringIO()
    with pytest.raises(CommandError, match="could not be decrypted"):
        call_command("reencrypt_credentials", stdout=out)

    assert "0 credential(s); 0 already wiped; 1 failed" in out.getvalue()
    assert croct.credentials.get().ciphertext == before  # left untouched

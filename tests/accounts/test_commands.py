"""The account management commands: connect_account and list_accounts."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command, load_command_class

from dashboard.accounts.encryption import decrypt_secrets
from dashboard.accounts.models import AccountCheck, ConnectedAccount, Credential
from integrations.croct.sandbox import DEMO_SECRETS as CROCT_SECRETS
from integrations.croct.sandbox import DEMO_SETTINGS as CROCT_SETTINGS

APP_ID = CROCT_SETTINGS["app_id"]
API_KEY = "c0ffee00-1234-4abc-8def-5ec7e7ca0042"
REJECTED_KEY = "0000dead-0000-4000-8000-000000000000"


def connect(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("connect_account", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def croct_args(base_url: str, *, name: str = "Croct prod", api_key: str = API_KEY) -> list[str]:
    return [
        "--provider",
        "croct",
        "--name",
        name,
        "--base-url",
        base_url,
        "--setting",
        f"app_id={APP_ID}",
        "--secret",
        f"api_key={api_key}",
    ]


# --- connect_account ----------------------------------------------------------------------
def test_connect_account_saves_the_account_and_prints_json_without_the_secret(db, sandbox):
    out, err = connect(*croct_args(sandbox["croct"].url), "--json")

    data = json.loads(out)
    account = ConnectedAccount.objects.get()
    assert data == {"id": account.pk, "name": "Croct prod", "provider": "croct"}
    assert account.base_url == sandbox["croct"].url
    assert account.settings == {"app_id": APP_ID}
    credential = Credential.objects.get()
    assert credential.state == "active"
    assert decrypt_secrets(credential.ciphertext) == {"api_key": API_KEY}
    assert API_KEY not in out + err
    # Without --verify nothing is called or queued.
    assert AccountCheck.objects.count() == 0


def test_connect_account_prints_a_line_without_json(db, sandbox):
    out, _ = connect(*croct_args(sandbox["croct"].url))

    account = ConnectedAccount.objects.get()
    assert f"Connected Croct prod (id {account.pk})" in out
    assert API_KEY not in out


def test_connect_account_uses_the_provider_s_default_base_url(db):
    connect(
        "--provider",
        "octy",
        "--name",
        "Octy",
        "--secret",
        "public_key=pk_live_1",
        "--secret",
        "secret_key=sk_live_2",
    )

    assert ConnectedAccount.objects.get().base_url == "https://api.octy.ai"


BAD_INPUT = {
    "unknown setting": (lambda url: [*croct_args(url), "--setting", "colour=blue"], "colour"),
    "bad base URL": (lambda url: croct_args("ftp://api.croct.io"), "base_url"),
    "missing secret": (lambda url: croct_args(url)[:-2], "api_key"),
    "malformed secret": (lambda url: croct_args(url)[:-1] + ["just-the-value"], "--secret"),
    "malformed setting": (lambda url: [*croct_args(url), "--setting", "=x"], "--setting"),
    "bad setting value": (
        lambda url: [*croct_args(url)[:-4], "--setting", "app_id=nope", *croct_args(url)[-2:]],
        "app_id",
    ),
    "unknown provider": (lambda url: ["--provider", "myspace", "--name", "x"], "myspace"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUT))
def test_connect_account_refuses_bad_input_and_saves_nothing(db, sandbox, case):
    build, mentioned = BAD_INPUT[case]

    with pytest.raises(CommandError) as excinfo:
        connect(*build(sandbox["croct"].url))

    assert mentioned in str(excinfo.value)
    assert ConnectedAccount.objects.count() == 0
    assert Credential.objects.count() == 0


def test_connect_account_refuses_a_duplicate_name_and_saves_nothing(db, sandbox):
    connect(*croct_args(sandbox["croct"].url))

    with pytest.raises(CommandError) as excinfo:
        connect(*croct_args(sandbox["croct"].url, api_key=CROCT_SECRETS["api_key"]))

    assert "already exists" in str(excinfo.value)
    assert "Nothing saved" in str(excinfo.value)
    assert ConnectedAccount.objects.count() == 1
    assert Credential.objects.count() == 1


def test_connect_account_does_not_echo_a_secret_given_without_its_name(db, sandbox):
    """`--secret <value>` (the name forgotten) must not print the value back."""
    args = croct_args(sandbox["croct"].url)[:-1] + [API_KEY]

    with pytest.raises(CommandError) as excinfo:
        connect(*args)

    assert API_KEY not in str(excinfo.value)
    assert ConnectedAccount.objects.count() == 0


def test_connect_account_verify_proves_the_key_against_the_sandbox(db, sandbox):
    out, _ = connect(*croct_args(sandbox["croct"].url), "--verify", "--json")

    data = json.loads(out)
    assert data["verification"] == {"status": "ok", "problem": None}
    account = ConnectedAccount.objects.get()
    assert account.health == "healthy"
    assert AccountCheck.objects.get().status == "ok"
    assert Credential.objects.get().verified_at is not None


def test_connect_account_verify_with_a_rejected_key_exits_non_zero_but_keeps_the_account(
    db, sandbox
):
    """The account is saved before the verify call (it needs the stored credential),
    so a failed verification leaves it connected and marked failing."""
    out = StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command(
            "connect_account",
            *croct_args(sandbox["croct"].url, api_key=REJECTED_KEY),
            "--verify",
            "--json",
            stdout=out,
        )

    assert "Verification failed" in str(excinfo.value)
    assert "Unknown API key" in str(excinfo.value)
    printed = json.loads(out.getvalue())
    assert printed["verification"]["status"] == "failed"
    assert printed["verification"]["problem"]["kind"] == "auth"
    account = ConnectedAccount.objects.get()
    assert printed["id"] == account.pk
    assert account.health == "failing"
    assert Credential.objects.get(account=account).state == "active"
    assert AccountCheck.objects.get().status == "failed"
    assert REJECTED_KEY not in out.getvalue()


def test_connect_account_verify_failure_exits_with_a_non_zero_status(db, sandbox, capsys):
    # As from a shell: run_from_argv turns the CommandError into an exit status
    # (without manage.py's django.setup(), which would reconfigure logging).
    command = load_command_class("dashboard.accounts", "connect_account")
    argv = ["manage.py", "connect_account", *croct_args(sandbox["croct"].url, api_key=REJECTED_KEY)]

    with pytest.raises(SystemExit) as excinfo:
        command.run_from_argv([*argv, "--verify"])

    assert excinfo.value.code not in (0, None)
    assert "Verification failed" in capsys.readouterr().err


# --- list_accounts ------------------------------------------------------------------------
def test_list_accounts_json_shows_name_provider_health_and_only_last_four(db, demo_account):
    secrets = {"public_key": "pk_listed_AAAA1111", "secret_key": "sk_listed_BBBB2222"}
    demo_account("octy", name="Octy shop", secrets=secrets)
    demo_account("croct", name="Croct site")
    out = StringIO()

    call_command("list_accounts", "--json", stdout=out)

    rows = json.loads(out.getvalue())
    assert [r["name"] for r in rows] == ["Croct site", "Octy shop"]
    octy = rows[1]
    assert octy["provider"] == "octy"
    assert octy["health"] == "unknown"
    assert octy["enabled"] is True
    assert octy["secrets_last4"] == {"public_key": "1111", "secret_key": "2222"}
    assert octy["fingerprint"].startswith("fp_")
    for value in secrets.values():
        assert value not in out.getvalue()
    assert CROCT_SECRETS["api_key"] not in out.getvalue()


def test_list_accounts_prints_a_table_without_secrets(db, demo_account):
    demo_account("croct", name="Croct site")
    out = StringIO()

    call_command("list_accounts", stdout=out)

    line = out.getvalue().strip()
    assert line.startswith("Croct site")
    assert "croct" in line
    assert "api_key …" + CROCT_SECRETS["api_key"][-4:] in line
    assert CROCT_SECRETS["api_key"] not in line


def test_list_accounts_says_when_there_are_none(db):
    out = StringIO()

    call_command("list_accounts", stdout=out)

    assert out.getvalue().strip() == "No accounts."

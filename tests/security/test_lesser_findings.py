"""The lesser findings of #15 item 13, each with the behaviour a user or attacker sees."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client, RequestFactory
from django.urls import reverse

from dashboard.core.client_ip import client_ip
from dashboard.core.params import parse_id
from dashboard.core.roles import ROLE_PERMISSIONS
from dashboard.profiles.models import LookupRequest, ProfileAccess
from tests.conftest import PASSWORD, make_user


# --- opening another user's look-up ------------------------------------------------------
def test_opening_another_user_s_look_up_is_access_logged(client_for, support, admin):
    lookup = LookupRequest.objects.create(
        query="ada@example.com", kind="email", requested_by=support
    )
    url = reverse("profiles:lookup", args=[lookup.pk])

    client_for(support).get(url)
    assert not ProfileAccess.objects.filter(user=support).exists()  # one's own: logged at search

    client_for(admin).get(url)
    entry = ProfileAccess.objects.get(user=admin)
    assert entry.action == "view"
    assert entry.subject == "ada@example.com"


# --- lock-out --------------------------------------------------------------------------
def _login(client: Client, username: str, password: str, **meta):
    return client.post(reverse("login"), {"username": username, "password": password}, **meta)


def _is_logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_spraying_many_usernames_from_one_address_locks_that_address(db):
    make_user("support", "victim")
    client = Client()
    for i in range(django_settings.AXES_FAILURE_LIMIT):
        _login(client, f"guess-{i}", "wrong", REMOTE_ADDR="203.0.113.7")

    answer = _login(client, "victim", PASSWORD, REMOTE_ADDR="203.0.113.7")

    assert answer.status_code == 429
    assert not _is_logged_in(client)
    elsewhere = Client()
    _login(elsewhere, "victim", PASSWORD, REMOTE_ADDR="198.51.100.1")
    assert _is_logged_in(elsewhere)


def test_one_username_tried_from_many_addresses_is_locked(db):
    make_user("support", "victim")
    for i in range(django_settings.AXES_FAILURE_LIMIT):
        _login(Client(), "victim", "wrong", REMOTE_ADDR=f"203.0.113.{i + 1}")

    client = Client()
    _login(client, "victim", PASSWORD, REMOTE_ADDR="198.51.100.9")

    assert not _is_logged_in(client)


def test_x_forwarded_for_is_ignored_unless_the_request_comes_from_a_trusted_proxy(settings):
    factory = RequestFactory()
    spoofed = factory.get("/", REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="10.9.9.9")

    settings.TRUSTED_PROXIES = []
    assert client_ip(spoofed) == "203.0.113.7"

    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert client_ip(spoofed) == "203.0.113.7"  # the sender is no proxy of ours
    proxied = factory.get(
        "/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.20, 10.0.0.6"
    )
    assert client_ip(proxied) == "198.51.100.20"  # the right-most address not a proxy
    garbled = factory.get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="not-an-ip")
    assert client_ip(garbled) == "10.0.0.5"


def test_rotating_x_forwarded_for_does_not_dodge_the_lock_out(db):
    make_user("support", "victim")
    client = Client()
    for i in range(django_settings.AXES_FAILURE_LIMIT):
        _login(
            client,
            f"guess-{i}",
            "wrong",
            REMOTE_ADDR="203.0.113.7",
            HTTP_X_FORWARDED_FOR=f"9.9.9.{i}",
        )

    _login(client, "victim", PASSWORD, REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="9.9.9.200")

    assert not _is_logged_in(client)


# --- README agrees with the code on who reads previews -----------------------------------
def test_the_readme_role_table_says_what_the_roles_may_do_with_previews():
    readme = (Path(django_settings.BASE_DIR) / "README.md").read_text()
    rows = dict(re.findall(r"^\| (marketer|support|admin) \| (.+) \|$", readme, re.MULTILINE))
    for role in ("marketer", "support"):
        perms = ROLE_PERMISSIONS[role]
        assert ("read previews" in rows[role]) == ("view_previews" in perms), role
        runs = "run and read previews" in rows[role]
        assert runs == ("use_preview" in perms), role


# --- var/ is private -------------------------------------------------------------------
def test_the_embedded_default_creates_var_and_its_database_private(tmp_path):
    var = tmp_path / "fresh-var"
    env = {
        **os.environ,
        "SWITCHYARD_VAR_DIR": str(var),
        "DJANGO_SETTINGS_MODULE": "dashboard.settings",
    }
    env.pop("DATABASE_URL", None)
    script = (
        "import django; django.setup();"
        "from django.db import connection; connection.ensure_connection();"
        "from django.conf import settings;"
        "settings.PROFILES_EXPORT_DIR.mkdir(parents=True, exist_ok=True);"
        "(settings.PROFILES_EXPORT_DIR / 'export.jsonl').write_text('{}')"
    )
    subprocess.run(
        [sys.executable, "-c", script],
        cwd=django_settings.BASE_DIR,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )

    def mode(path: Path) -> int:
        return stat.S_IMODE(path.stat().st_mode)

    assert mode(var) == 0o700
    assert mode(var / "switchyard.sqlite3") == 0o600
    assert mode(var / "exports") == 0o700
    assert mode(var / "exports" / "export.jsonl") == 0o600


# --- ids -------------------------------------------------------------------------------
@pytest.mark.parametrize("value", ["007", "0", "01", "00000000000000000001"])
def test_leading_zero_ids_are_refused(value):
    assert parse_id(value) is None


def test_plain_ids_are_still_read():
    assert parse_id("7") == 7
    assert parse_id("10") == 10

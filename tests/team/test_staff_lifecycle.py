"""Roles, deactivation (open sessions refused at once), reactivation, the `staff`
command, Argon2 with PBKDF2 hashes upgraded on sign-in, the password-change page."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from auditlog.models import LogEntry
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from dashboard.core.roles import role_of
from tests.conftest import PASSWORD
from tests.team.conftest import invitation_link, password_step, path_of, sign_in


def _staff(*args) -> str:
    out = StringIO()
    call_command("staff", *args, stdout=out)
    return out.getvalue()


def test_a_deactivated_users_open_session_is_refused_on_its_next_request(
    client_for, admin, marketer
):
    theirs = Client()
    assert sign_in(theirs, marketer).status_code == 302
    assert theirs.get(reverse("overview")).status_code == 200

    response = client_for(admin).post(reverse("team:deactivate", args=[marketer.pk]))
    assert response.status_code == 302
    refused = theirs.get(reverse("overview"))
    assert refused.status_code == 302
    assert refused.url.startswith(reverse("login"))
    # And they cannot sign in again: allauth says the account is inactive.
    again = Client()
    answer = password_step(again, marketer.username)
    assert answer.url == reverse("account_inactive")
    assert "inactive" in again.get(answer.url).content.decode().lower()
    assert again.get(reverse("overview")).status_code == 302
    entry = LogEntry.objects.get(additional_data__action="staff_deactivate")
    assert entry.actor == admin
    assert entry.additional_data["staff"] == marketer.username

    client_for(admin).post(reverse("team:reactivate", args=[marketer.pk]))
    assert sign_in(Client(), marketer).status_code == 302


def test_an_admin_cannot_deactivate_themself(client_for, admin):
    client_for(admin).post(reverse("team:deactivate", args=[admin.pk]))
    admin.refresh_from_db()
    assert admin.is_active


def test_an_admin_changes_a_role_and_it_is_audited(client_for, admin, marketer):
    client_for(admin).post(reverse("team:role", args=[marketer.pk]), {"role": "support"})
    marketer = User.objects.get(pk=marketer.pk)
    assert role_of(marketer) == "support"
    assert list(marketer.groups.values_list("name", flat=True)) == ["support"]
    entry = LogEntry.objects.get(additional_data__action="staff_role")
    assert entry.changes_dict["role"] == ["marketer", "support"]
    # The Audit page lists it with its label.
    body = client_for(admin).get(reverse("audit:list")).content.decode()
    assert "Changed role" in body


def test_the_team_page_lists_role_last_login_mfa_and_state(client_for, admin, marketer):
    body = client_for(admin).get(reverse("team:list")).content.decode()
    assert marketer.username in body
    assert "totp" in body  # the admin's app
    assert "active" in body


def test_the_staff_command_adds_changes_deactivates_and_lists(db, client):
    output = _staff("add", "erin", "--email", "erin@example.com", "--role", "marketer")
    link = output.strip().splitlines()[-1]
    assert "/team/join/" in link
    assert invitation_link() == link  # the same link was mailed
    assert client.get(path_of(link)).status_code == 200

    assert "now support" in _staff("role", "erin", "support")
    assert role_of(User.objects.get(username="erin")) == "support"
    _staff("deactivate", "erin")
    assert not User.objects.get(username="erin").is_active
    rows = json.loads(_staff("list", "--json"))
    erin = next(r for r in rows if r["username"] == "erin")
    assert erin == {
        "username": "erin",
        "email": "erin@example.com",
        "role": "support",
        "last_login": None,
        "mfa": [],
        "active": False,
        "invited": True,
        "sso": False,
    }
    entry = LogEntry.objects.filter(additional_data__action="staff_deactivate").get()
    assert entry.additional_data["by"] == "command staff"
    with pytest.raises(CommandError):
        _staff("role", "nobody-here", "admin")
    with pytest.raises(CommandError):
        _staff("add", "erin", "--email", "e@example.com", "--role", "admin")


def test_a_pbkdf2_hash_is_upgraded_to_argon2_on_sign_in(client, marketer):
    User.objects.filter(pk=marketer.pk).update(
        password=make_password(PASSWORD, hasher="pbkdf2_sha256")
    )
    assert User.objects.get(pk=marketer.pk).password.startswith("pbkdf2_sha256$")
    assert sign_in(client, marketer).status_code == 302
    assert User.objects.get(pk=marketer.pk).password.startswith("argon2$")
    assert client.get(reverse("overview")).status_code == 200


def test_the_password_change_page_uses_djangos_validators(client, marketer):
    sign_in(client, marketer)
    weak = client.post(
        reverse("team:password"),
        {"old_password": PASSWORD, "new_password1": "12345678", "new_password2": "12345678"},
    )
    assert weak.status_code == 200
    assert "too common" in weak.content.decode() or "entirely numeric" in weak.content.decode()
    new = "glacier-harbor-violet-2290"
    ok = client.post(
        reverse("team:password"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert ok.status_code == 302
    assert client.get(reverse("overview")).status_code == 200  # this session stays
    assert User.objects.get(pk=marketer.pk).check_password(new)

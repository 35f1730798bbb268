"""Invite by e-mail from the Team page: a one-time, expiring link that sets the password."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.contrib.auth.models import User
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from dashboard.team.models import Invitation
from tests.team.conftest import invitation_link, path_of, sign_in

NEW_PASSWORD = "plum-orbit-canvas-1187"


def _invite(client, username="dana", role="support", email="dana@example.com"):
    return client.post(reverse("team:invite"), {"username": username, "email": email, "role": role})


def test_an_admin_invites_and_the_link_sets_the_password_once(client_for, admin, client):
    staff = client_for(admin)
    response = _invite(staff)
    assert response.status_code == 302
    dana = User.objects.get(username="dana")
    assert not dana.has_usable_password()
    assert list(dana.groups.values_list("name", flat=True)) == ["support"]
    assert mail.outbox[-1].to == ["dana@example.com"]
    link = invitation_link()
    token = link.rstrip("/").rsplit("/", 1)[1]
    # Only the hash is stored.
    assert not Invitation.objects.filter(token_hash=token).exists()
    assert token not in str(list(Invitation.objects.values()))

    staff.logout()
    page = client.get(path_of(link))
    assert page.status_code == 200
    assert "Welcome, dana" in page.content.decode()
    response = client.post(path_of(link), {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert response.status_code == 302
    assert response.url == reverse("login")
    dana.refresh_from_db()
    assert dana.check_password(NEW_PASSWORD)
    assert dana.password.startswith("argon2")

    # Spent: the same link is refused, GET and POST.
    assert client.get(path_of(link)).status_code == 404
    again = client.post(path_of(link), {"password1": "x" + NEW_PASSWORD, "password2": "x"})
    assert again.status_code == 404
    dana.refresh_from_db()
    assert dana.check_password(NEW_PASSWORD)

    assert sign_in(client, dana, NEW_PASSWORD).status_code == 302
    assert client.get(reverse("overview")).status_code == 200


def test_the_team_page_says_where_mail_goes_on_the_embedded_default(client_for, admin, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = "/tmp/switchyard-mail-test"
    body = client_for(admin).get(reverse("team:list")).content.decode()
    assert "/tmp/switchyard-mail-test" in body


def test_an_expired_link_is_refused(client_for, admin, client):
    _invite(client_for(admin))
    link = invitation_link()
    client.logout()
    later = timezone.now() + timedelta(hours=73)
    with time_machine.travel(later, tick=False):
        assert client.get(path_of(link)).status_code == 404


def test_a_weak_password_is_refused_by_djangos_validators(client_for, admin, client):
    _invite(client_for(admin))
    link = invitation_link()
    client.logout()
    response = client.post(path_of(link), {"password1": "password", "password2": "password"})
    assert response.status_code == 200
    assert "too common" in response.content.decode()
    # The link still works after a refused password.
    assert client.get(path_of(link)).status_code == 200


def test_a_new_invitation_replaces_the_old_link(client_for, admin, client):
    from dashboard.team.services import _new_invitation

    _invite(client_for(admin))
    first = invitation_link()
    _new_invitation(user=User.objects.get(username="dana"), base_url="http://x", actor=admin)
    client.logout()
    assert client.get(path_of(first)).status_code == 404


def test_a_taken_username_is_refused(client_for, admin, marketer):
    response = _invite(client_for(admin), username=marketer.username)
    assert response.status_code == 400
    assert "taken" in response.content.decode()

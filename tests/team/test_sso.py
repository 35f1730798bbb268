"""Single sign-on against a real OIDC provider on loopback (tests/team/oidc_provider.py):
the console discovers it, redirects to it with PKCE, exchanges the code over HTTP,
decodes the RS256 id_token (issuer, audience, expiry; allauth skips the signature for a
token fetched directly from the token endpoint, as OIDC Core 3.1.3.7 allows), reads
userinfo and maps the group claim to a role. The provider fixture ``idp`` is in
tests/conftest.py (the browser journey signs in with it too)."""

from __future__ import annotations

import requests
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth.models import User
from django.urls import reverse

from dashboard.core.roles import role_of
from tests.team.oidc_provider import Person


def sso_sign_in(client, idp, person: Person):
    """Press the button on the login page, sign in at the provider, come back."""
    page = client.get(reverse("login")).content.decode()
    assert "Sign in with Company SSO" in page
    start = client.post(reverse("openid_connect_login", kwargs={"provider_id": "sso"}))
    assert start.status_code == 302
    assert start.url.startswith(idp.issuer + "/authorize?")
    assert "code_challenge=" in start.url
    idp.next_user = person
    at_idp = requests.get(start.url, allow_redirects=False, timeout=10)
    assert at_idp.status_code == 302, at_idp.text
    back = at_idp.headers["Location"]
    assert back.startswith("http://testserver/auth/oidc/sso/login/callback/?code=")
    return client.get(back.removeprefix("http://testserver"))


def test_an_sso_sign_in_lands_in_the_role_its_group_maps_to(client, idp, db):
    person = Person("idp-7", "sam", "sam@example.com", groups=["everyone", "sy-support"])
    response = sso_sign_in(client, idp, person)
    assert response.status_code == 302, response.content.decode()[:3000]
    sam = User.objects.get(username="sam")
    assert role_of(sam) == "support"
    assert not sam.has_usable_password()  # SSO users get no password
    assert SocialAccount.objects.get(user=sam).uid == "idp-7"
    assert client.get(reverse("profiles:index")).status_code == 200  # support may
    assert client.get(reverse("audit:list")).status_code == 403  # admin only
    assert {"/token", "/userinfo"} <= set(idp.requests)

    # The password page says there is none to change.
    body = client.get(reverse("team:password")).content.decode()
    assert "single sign-on" in body


def test_without_a_mapped_group_an_admin_must_assign_the_role(client, idp, admin, client_for):
    from django.test import Client

    response = sso_sign_in(client, idp, Person("idp-8", "kim", "kim@example.com", ["other"]))
    assert response.url == reverse("team:awaiting_role")
    page = client.get(response.url).content.decode()
    assert "An admin must assign you a role" in page
    kim = User.objects.get(username="kim")
    assert role_of(kim) is None
    assert client.get(reverse("overview")).status_code == 403

    boss = Client()
    boss.force_login(admin)
    team = boss.get(reverse("team:list")).content.decode()
    assert "kim" in team
    assert "no role" in team
    assert "SSO" in team
    boss.post(reverse("team:role", args=[kim.pk]), {"role": "marketer"})
    assert client.get(reverse("overview")).status_code == 200


def test_an_sso_admin_still_needs_a_second_factor(client, idp, db):
    sso_sign_in(client, idp, Person("idp-9", "ash", "ash@example.com", ["sy-admins"]))
    ash = User.objects.get(username="ash")
    assert role_of(ash) == "admin"
    stopped = client.get(reverse("overview"))
    assert stopped.url.startswith(reverse("mfa_activate_totp"))


def test_a_returning_sso_user_follows_the_providers_groups(client, idp, db):
    sso_sign_in(client, idp, Person("idp-10", "lee", "lee@example.com", ["sy-support"]))
    client.post(reverse("logout"))
    sso_sign_in(client, idp, Person("idp-10", "lee", "lee@example.com", ["sy-admins"]))
    assert role_of(User.objects.get(username="lee")) == "admin"

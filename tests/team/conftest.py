"""Helpers for the team tests: read the invitation link out of the mail, and sign in
through the real allauth flow with the Django test client."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse

from tests.conftest import PASSWORD, totp_code

LINK = re.compile(r"https?://\S+/team/join/[\w-]+/")


def invitation_link(message=None) -> str:
    message = message or mail.outbox[-1]
    match = LINK.search(message.body)
    assert match, message.body
    return match.group(0)


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def password_step(client, username: str, password: str = PASSWORD):
    return client.post(reverse("login"), {"username": username, "password": password})


def sign_in(client, user, password: str = PASSWORD, code: str | None = None):
    """Password, then the second factor when the user has one. Returns the last answer."""
    response = password_step(client, user.username, password)
    if response.status_code == 302 and response.url.startswith(reverse("mfa_authenticate")):
        response = client.post(reverse("mfa_authenticate"), {"code": code or totp_code(user)})
    return response


@pytest.fixture(autouse=True)
def _fresh_cache():
    # allauth remembers used TOTP codes in the cache (no replay within the window);
    # user ids repeat across tests, so a code from an earlier test must not count.
    from django.core.cache import cache

    cache.clear()

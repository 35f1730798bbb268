"""The role x URL matrix for the team pages and the allauth pages the console mounts.

Expected answers per role (test-client sessions: the admin is enrolled, nobody has just
signed in, so allauth's "confirm it's you" step answers 302 to reauthenticate).
``LOGIN``: sent to the login page. Tokens and pks come from ``objects``.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

LOGIN = "login"
REAUTH = "reauth"
ADMIN_ONLY = {"anonymous": LOGIN, "marketer": 403, "support": 403, "admin": 200}
EVERYONE = {"anonymous": LOGIN, "marketer": 200, "support": 200, "admin": 200}
CONFIRM = {"anonymous": LOGIN, "marketer": REAUTH, "support": REAUTH, "admin": REAUTH}
OPEN = {"anonymous": 200, "marketer": 200, "support": 200, "admin": 200}
NO_CODES = {"anonymous": LOGIN, "marketer": 404, "support": 404, "admin": 404}
SSO_OFF = {"anonymous": 404, "marketer": 404, "support": 404, "admin": 404}

# (url name, kwargs key, expected per role)
GET_MATRIX = [
    ("team:list", None, ADMIN_ONLY),
    ("team:accept", "token", OPEN),
    ("team:awaiting_role", None, {**EVERYONE, "marketer": 302, "support": 302, "admin": 302}),
    ("team:security", None, EVERYONE),
    ("team:password", None, EVERYONE),
    ("team:sessions", None, EVERYONE),
    ("mfa_index", None, EVERYONE),
    ("mfa_list_webauthn", None, EVERYONE),
    ("mfa_activate_totp", None, CONFIRM),
    ("mfa_add_webauthn", None, CONFIRM),
    ("mfa_edit_webauthn", "pk", CONFIRM),
    ("mfa_remove_webauthn", "pk", CONFIRM),
    ("mfa_generate_recovery_codes", None, CONFIRM),
    ("mfa_reauthenticate_webauthn", None, CONFIRM),
    ("mfa_reauthenticate", None, {**CONFIRM, "admin": 200}),  # only who has a factor
    ("mfa_deactivate_totp", None, {**NO_CODES, "admin": REAUTH}),
    ("mfa_view_recovery_codes", None, NO_CODES),  # nobody generated codes yet
    ("mfa_download_recovery_codes", None, NO_CODES),
    ("mfa_authenticate", None, {"anonymous": 302, "marketer": 302, "support": 302, "admin": 302}),
    ("account_inactive", None, OPEN),
    ("account_reauthenticate", None, EVERYONE),
    ("socialaccount_login_cancelled", None, OPEN),
    (
        "socialaccount_login_error",
        None,
        {"anonymous": LOGIN, "marketer": 401, "support": 401, "admin": 401},
    ),
    (
        "socialaccount_signup",
        None,
        {"anonymous": LOGIN, "marketer": 302, "support": 302, "admin": 302},
    ),
    ("openid_connect_login", "sso", SSO_OFF),  # no OIDC_ISSUER: no provider configured
    ("openid_connect_callback", "sso", SSO_OFF),
]

# POSTs that change the team: admins only (302 back to the Team page).
POST_MATRIX = [
    ("team:invite", None, ADMIN_ONLY),
    ("team:role", "pk", ADMIN_ONLY),
    ("team:deactivate", "pk", ADMIN_ONLY),
    ("team:reactivate", "pk", ADMIN_ONLY),
    ("team:mfa_reset", "pk", ADMIN_ONLY),
    ("team:session_end", "session", ADMIN_ONLY),  # someone else's session
]


@pytest.fixture
def objects(db, role_users):
    from allauth.usersessions.models import UserSession

    from dashboard.team.services import staff_invite
    from tests.conftest import make_user

    invited = staff_invite(username="zed", email="z@example.com", role="marketer", base_url="")
    target = make_user("marketer", "target-user")
    session = UserSession.objects.create(
        user=target, ip="127.0.0.1", session_key="k" * 32, user_agent="Other browser"
    )
    return {
        "token": {"token": invited.link.rstrip("/").rsplit("/", 1)[1]},
        "pk": {"pk": target.pk},
        "session": {"pk": session.pk},
        "sso": {"provider_id": "sso"},
    }


def _client(role, role_users) -> Client:
    client = Client()
    if role != "anonymous":
        client.force_login(role_users[role])
    return client


def _check(response, expected, name, role):
    if expected == LOGIN:
        assert response.status_code == 302, f"{role} {name}"
        assert response.url.startswith(reverse("login")), f"{role} {name}: {response.url}"
    elif expected == REAUTH:
        assert response.status_code == 302, f"{role} {name}"
        assert response.url.startswith(reverse("account_reauthenticate")), f"{role} {name}"
    else:
        assert response.status_code == expected, f"{role} {name}"


@pytest.mark.parametrize("role", ["anonymous", "marketer", "support", "admin"])
@pytest.mark.parametrize(("name", "kwargs_key", "expected"), GET_MATRIX)
def test_each_role_gets_what_it_may_open(role_users, objects, role, name, kwargs_key, expected):
    url = reverse(name, kwargs=objects[kwargs_key] if kwargs_key else None)
    _check(_client(role, role_users).get(url), expected[role], name, role)


@pytest.mark.parametrize("role", ["anonymous", "marketer", "support", "admin"])
@pytest.mark.parametrize(("name", "kwargs_key", "expected"), POST_MATRIX)
def test_only_admins_change_the_team(role_users, objects, role, name, kwargs_key, expected):
    url = reverse(name, kwargs=objects[kwargs_key] if kwargs_key else None)
    data = {"role": "support", "username": "newbie", "email": "n@example.com"}
    response = _client(role, role_users).post(url, data)
    wanted = expected[role]
    _check(response, 302 if wanted == 200 else wanted, name, role)

"""The role x URL matrix: every page for anonymous, marketer, support and admin.

Each later feature adds its URLs to ``MATRIX``. Expected answers: 200 (may use it),
403 (logged in, not allowed), and anonymous users are always sent to the login page.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

ALL = {"marketer": 200, "support": 200, "admin": 200}
ADMIN_ONLY = {"marketer": 403, "support": 403, "admin": 200}
PREVIEW_ROLES = {"marketer": 200, "support": 200, "admin": 200}
PROFILE_ROLES = {"marketer": 403, "support": 200, "admin": 200}

# (url name, kwargs builder, expected per role)
MATRIX = [
    ("overview", None, ALL),
    ("accounts:list", None, ALL),
    ("accounts:detail", "account", ALL),
    ("accounts:connect", None, ADMIN_ONLY),
    ("accounts:connect_provider", "provider", ADMIN_ONLY),
    ("accounts:edit", "account", ADMIN_ONLY),
    ("accounts:check", "check", ALL),
    ("calls:list", None, ALL),
    ("calls:errors", None, ALL),
    ("calls:detail", "call", ALL),
    ("audit:list", None, ADMIN_ONLY),
    ("previews:index", None, PREVIEW_ROLES),
    ("events:index", None, ALL),
    ("profiles:index", None, PROFILE_ROLES),
]

POST_MATRIX = [
    ("accounts:toggle", "account", ADMIN_ONLY),
    ("accounts:test", "account", ADMIN_ONLY),
]


@pytest.fixture
def objects(db):
    from django.utils import timezone

    from dashboard.accounts.models import AccountCheck, ConnectedAccount
    from dashboard.calls.models import ApiCall

    account = ConnectedAccount.objects.create(
        provider="croct", name="Matrix", base_url="http://127.0.0.1:9", settings={}
    )
    check = AccountCheck.objects.create(account=account, status="ok")
    call = ApiCall.objects.create(
        account=account,
        provider="croct",
        operation="croct.content",
        method="POST",
        url="http://127.0.0.1:9/x",
        started_at=timezone.now(),
        duration_ms=1,
        outcome="ok",
    )
    return {
        "account": {"pk": account.pk},
        "check": {"pk": account.pk, "check_pk": check.pk},
        "call": {"pk": call.pk},
        "provider": {"provider": "croct"},
    }


def _url(name, kwargs_key, objects):
    return reverse(name, kwargs=objects[kwargs_key] if kwargs_key else None)


@pytest.mark.parametrize(("name", "kwargs_key", "expected"), MATRIX)
def test_anonymous_users_are_sent_to_log_in(client, objects, name, kwargs_key, expected):
    url = _url(name, kwargs_key, objects)
    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize("role", ["marketer", "support", "admin"])
@pytest.mark.parametrize(("name", "kwargs_key", "expected"), MATRIX)
def test_each_role_gets_what_its_permissions_allow(
    client_for, role_users, objects, role, name, kwargs_key, expected
):
    response = client_for(role_users[role]).get(_url(name, kwargs_key, objects))
    assert response.status_code == expected[role], f"{role} GET {name}"


@pytest.mark.parametrize("role", ["marketer", "support", "admin"])
@pytest.mark.parametrize(("name", "kwargs_key", "expected"), POST_MATRIX)
def test_each_role_may_post_only_what_it_may_do(
    client_for, role_users, objects, role, name, kwargs_key, expected, sandbox
):
    response = client_for(role_users[role]).post(_url(name, kwargs_key, objects))
    if expected[role] == 403:
        assert response.status_code == 403
    else:
        assert response.status_code in (200, 302)


def test_a_user_without_a_role_sees_nothing(client, db):
    from tests.conftest import make_user

    client.force_login(make_user(None, "nobody"))
    assert client.get(reverse("overview")).status_code == 403
    assert client.get(reverse("accounts:list")).status_code == 403


def test_forbidden_page_is_friendly_and_keeps_the_layout(client_for, marketer):
    response = client_for(marketer).get(reverse("audit:list"))
    assert response.status_code == 403
    body = response.content.decode()
    assert "You don&#x27;t have access" in body or "You don't have access" in body
    assert 'aria-label="Main"' in body


def test_navigation_shows_only_what_the_role_may_open(client_for, role_users):
    expected = {
        "marketer": {"Overview", "Preview", "Events", "Errors", "Accounts"},
        "support": {"Overview", "Preview", "Events", "Profiles", "Errors", "Accounts"},
        "admin": {
            "Overview",
            "Preview",
            "Events",
            "Profiles",
            "Errors",
            "Accounts",
            "Alerts",
            "Audit",
        },
    }
    all_labels = {
        "Overview",
        "Preview",
        "Events",
        "Profiles",
        "Errors",
        "Accounts",
        "Alerts",
        "Audit",
    }
    for role, user in role_users.items():
        response = client_for(user).get(reverse("overview"))
        labels = {item["label"] for item in response.context["nav_items"]}
        assert labels == expected[role], role
        for hidden in all_labels - expected[role]:
            assert f">{hidden}</a>" not in response.content.decode()


def test_a_users_permissions_are_read_in_one_query(marketer, django_assert_num_queries):
    """#17: roles are groups; ModelBackend read the user's and the groups' permissions
    in two queries on every page, this backend in one, with the same answers."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.backends import ModelBackend
    from django.contrib.auth.models import Permission

    fresh = get_user_model().objects.get(pk=marketer.pk)
    with django_assert_num_queries(1):
        held = fresh.get_all_permissions()
        assert held  # the marketer role holds permissions
        assert all(fresh.has_perm(name) for name in held)  # and every backend reads them back
    direct = Permission.objects.exclude(
        pk__in=Permission.objects.filter(group__user=marketer).values("pk")
    ).first()
    marketer.user_permissions.add(direct)
    fresh = get_user_model().objects.get(pk=marketer.pk)
    reference = get_user_model().objects.get(pk=marketer.pk)
    assert fresh.get_all_permissions() == ModelBackend().get_all_permissions(reference)
    assert f"{direct.content_type.app_label}.{direct.codename}" in fresh.get_all_permissions()

"""The role x URL matrix for the key-rotation and audit URLs (see
tests/core/test_permissions.py): admins only; others get 403, anonymous users log in."""

from __future__ import annotations

import pytest
from django.urls import reverse

ADMIN_ONLY = {"marketer": 403, "support": 403, "admin": 200}

GET_MATRIX = [
    ("accounts:rotate", "account"),
    ("accounts:rotation_status", "credential"),
    ("audit:list", None),
    ("audit:export", None),
]

POST_MATRIX = [
    ("accounts:rotate", "account"),
    ("accounts:rollback", "account"),
    ("accounts:promote", "credential"),
    ("accounts:retry", "credential"),
    ("accounts:discard", "credential"),
]


@pytest.fixture
def objects(db):
    from dashboard.accounts.models import ConnectedAccount
    from dashboard.accounts.services import credential_build

    account = ConnectedAccount.objects.create(
        provider="croct", name="Matrix", base_url="http://127.0.0.1:9", settings={}
    )
    credential = credential_build(
        account=account,
        secrets={"api_key": "c0ffee00-1234-4abc-8def-5ec7e7ca0042"},
        state="failed",
    )
    credential.save()
    return {
        "account": {"pk": account.pk},
        "credential": {"pk": account.pk, "credential_pk": credential.pk},
    }


def _url(name, kwargs_key, objects):
    return reverse(name, kwargs=objects[kwargs_key] if kwargs_key else None)


@pytest.mark.parametrize(("name", "kwargs_key"), GET_MATRIX + POST_MATRIX)
def test_anonymous_users_are_sent_to_log_in(client, objects, name, kwargs_key):
    for method in (client.get, client.post):
        response = method(_url(name, kwargs_key, objects))
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize("role", ["marketer", "support", "admin"])
@pytest.mark.parametrize(("name", "kwargs_key"), GET_MATRIX)
def test_each_role_may_open_only_what_it_may_do(
    client_for, role_users, objects, role, name, kwargs_key
):
    response = client_for(role_users[role]).get(_url(name, kwargs_key, objects))
    assert response.status_code == ADMIN_ONLY[role], f"{role} GET {name}"


@pytest.mark.parametrize("role", ["marketer", "support", "admin"])
@pytest.mark.parametrize(("name", "kwargs_key"), POST_MATRIX)
def test_each_role_may_post_only_what_it_may_do(
    client_for, role_users, objects, role, name, kwargs_key
):
    from dashboard.accounts.models import Credential

    before = list(Credential.objects.values_list("state", "ciphertext"))
    response = client_for(role_users[role]).post(_url(name, kwargs_key, objects))
    if ADMIN_ONLY[role] == 403:
        assert response.status_code == 403
        assert list(Credential.objects.values_list("state", "ciphertext")) == before
    else:
        # The admin gets the page back (form errors) or a redirect with a message.
        assert response.status_code in (200, 302, 422)


def test_the_audit_link_and_rotation_controls_are_hidden_from_other_roles(
    client_for, role_users, objects
):
    detail = reverse("accounts:detail", kwargs=objects["account"])
    for role, user in role_users.items():
        page = client_for(user).get(detail).content.decode()
        rotate_url = reverse("accounts:rotate", kwargs=objects["account"])
        assert (rotate_url in page) == (role == "admin"), role
        assert (reverse("audit:list") in page) == (role == "admin"), role

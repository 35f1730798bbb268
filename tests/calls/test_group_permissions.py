"""The role x URL matrix for the error pages: everyone reads, support staff and admins
triage (assign, snooze), admins resolve and ignore (one by one or in bulk)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dashboard.calls.models import ErrorGroup
from tests.calls.conftest import croct_problem, record

READ = {"marketer": 200, "support": 200, "admin": 200}
MANAGE = {"marketer": 403, "support": 403, "admin": 302}
TRIAGE = {"marketer": 403, "support": 302, "admin": 302}

GET_MATRIX = [
    ("calls:errors", False, READ),
    ("calls:group", True, READ),
    ("calls:list", False, READ),
]
POST_MATRIX = [
    ("calls:group_state", True, MANAGE),
    ("calls:group_assign", True, TRIAGE),
    ("calls:group_snooze", True, TRIAGE),
    ("calls:group_unsnooze", True, TRIAGE),
    ("calls:groups_bulk", False, TRIAGE),
]
# What each POST row sends ("{group}" is the group's id); the bulk URL is checked a
# second time with an action that needs manage_errors.
POST_DATA = {
    "calls:group_state": {"action": "ignore", "note": "noise"},
    "calls:group_assign": {"assignee": ""},
    "calls:group_snooze": {"hours": "24"},
    "calls:group_unsnooze": {},
    "calls:groups_bulk": {"action": "assign", "assignee": "", "group": "{group}"},
}
BULK_MANAGE = {"action": "resolve", "group": "{group}"}


@pytest.fixture
def group(db) -> ErrorGroup:
    record(croct_problem(401, "authentication/unknown-api-key"))
    return ErrorGroup.objects.get()


def _url(name: str, needs_group: bool, group: ErrorGroup) -> str:
    return reverse(name, args=[group.pk] if needs_group else None)


@pytest.mark.parametrize(("name", "needs_group", "expected"), GET_MATRIX + POST_MATRIX)
def test_anonymous_users_are_sent_to_log_in(client, group, name, needs_group, expected):
    url = _url(name, needs_group, group)
    response = client.post(url) if (name, needs_group, expected) in POST_MATRIX else client.get(url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize("role", ["marketer", "support", "admin"])
@pytest.mark.parametrize(("name", "needs_group", "expected"), GET_MATRIX)
def test_each_role_gets_what_it_may_read(
    client_for, role_users, group, role, name, needs_group, expected
):
    response = client_for(role_users[role]).get(_url(name, needs_group, group))
    assert response.status_code == expected[role]


def _data(data: dict, group: ErrorGroup) -> dict:
    return {k: (str(group.pk) if v == "{group}" else v) for k, v in data.items()}


@pytest.mark.parametrize("role", ["marketer", "support", "admin"])
def test_only_admins_change_a_group(client_for, role_users, group, role):
    response = client_for(role_users[role]).post(
        reverse("calls:group_state", args=[group.pk]), POST_DATA["calls:group_state"]
    )
    assert response.status_code == MANAGE[role]
    group.refresh_from_db()
    assert group.state == ("ignored" if role == "admin" else "new")


@pytest.mark.parametrize("role", ["marketer", "support", "admin"])
@pytest.mark.parametrize(("name", "needs_group", "expected"), POST_MATRIX)
def test_each_role_gets_what_it_may_change(
    client_for, role_users, group, role, name, needs_group, expected
):
    response = client_for(role_users[role]).post(
        _url(name, needs_group, group), _data(POST_DATA[name], group)
    )
    assert response.status_code == expected[role]


@pytest.mark.parametrize("role", ["marketer", "support", "admin"])
def test_only_admins_resolve_in_bulk(client_for, role_users, group, role):
    response = client_for(role_users[role]).post(
        reverse("calls:groups_bulk"), _data(BULK_MANAGE, group)
    )
    assert response.status_code == MANAGE[role]
    group.refresh_from_db()
    assert group.state == ("resolved" if role == "admin" else "new")


@pytest.mark.parametrize("role", ["marketer", "support", "admin"])
@pytest.mark.parametrize(("name", "needs_group", "expected"), POST_MATRIX)
def test_the_change_urls_refuse_get(
    client_for, role_users, group, role, name, needs_group, expected
):
    response = client_for(role_users[role]).get(_url(name, needs_group, group))
    assert response.status_code in (403, 405)


def test_an_unknown_group_is_not_found(client_for, support, db):
    assert client_for(support).get(reverse("calls:group", args=[999999])).status_code == 404

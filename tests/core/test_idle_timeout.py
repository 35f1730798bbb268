"""A page left open and polling still times out (#15 item 12): polls do not count as
activity, and the first poll after the idle timeout sends the page to the login form."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.urls import reverse
from django.utils import timezone

POLL = {"HTTP_HX_REQUEST": "true", "HTTP_X_SWITCHYARD_POLL": "1"}


def _poll(client):
    return client.get(reverse("calls:errors"), **POLL)


def test_polling_does_not_keep_an_idle_session_alive(client, marketer, settings):
    settings.SESSION_COOKIE_AGE = 30 * 60
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        client.force_login(marketer)
        assert client.get(reverse("calls:errors")).status_code == 200
        for _ in range(5):  # a poll every 5 minutes for 25 minutes
            clock.shift(timedelta(minutes=5))
            assert _poll(client).status_code == 200

        clock.shift(timedelta(minutes=6))  # 31 minutes since the person did anything
        answer = _poll(client)

        assert answer.status_code == 200
        assert answer["HX-Redirect"].startswith(reverse("login"))
        page = client.get(reverse("calls:errors"))
        assert page.status_code == 302
        assert page["Location"].startswith(reverse("login"))


def test_a_request_a_person_makes_extends_the_session(client, marketer, settings):
    settings.SESSION_COOKIE_AGE = 30 * 60
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        client.force_login(marketer)
        client.get(reverse("calls:errors"))
        clock.shift(timedelta(minutes=20))
        # A click (an htmx request without the poll marker) is activity.
        assert client.get(reverse("calls:errors"), HTTP_HX_REQUEST="true").status_code == 200
        clock.shift(timedelta(minutes=20))

        answer = _poll(client)

        assert answer.status_code == 200
        assert "HX-Redirect" not in answer


def test_the_console_script_marks_self_triggered_requests_as_polls():
    from pathlib import Path

    from django.conf import settings

    script = (Path(settings.BASE_DIR) / "static/js/app.js").read_text()
    assert 'headers["X-Switchyard-Poll"] = "1"' in script


def _session_writes(client, path: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        assert client.get(path).status_code == 200
    return sum(
        1
        for q in ctx.captured_queries
        if "django_session" in q["sql"]
        and q["sql"].lstrip().upper().startswith(("UPDATE", "INSERT"))
    )


def test_activity_is_written_at_most_once_per_resolution(client, marketer, settings):
    """#17: a page view is not a session write; a click a minute later is, and it
    slides the expiry stored with the session."""
    from django.contrib.sessions.models import Session

    from dashboard.core.idle import ACTIVITY_RESOLUTION_SECONDS

    settings.SESSION_COOKIE_AGE = 30 * 60
    path = reverse("calls:errors")
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        client.force_login(marketer)
        client.get(path)  # the first request records activity
        key = client.session.session_key
        expiry = Session.objects.get(session_key=key).expire_date

        clock.shift(timedelta(seconds=ACTIVITY_RESOLUTION_SECONDS / 2))
        assert _session_writes(client, path) == 0
        assert Session.objects.get(session_key=key).expire_date == expiry

        clock.shift(timedelta(seconds=ACTIVITY_RESOLUTION_SECONDS))
        assert _session_writes(client, path) == 1
        assert Session.objects.get(session_key=key).expire_date > expiry


def test_an_idle_session_ends_within_the_resolution_of_its_age(client, marketer, settings):
    """Activity younger than the resolution is not written, so a session may end up
    to that much early, never late."""
    from dashboard.core.idle import ACTIVITY_RESOLUTION_SECONDS

    settings.SESSION_COOKIE_AGE = 30 * 60
    path = reverse("calls:errors")
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        client.force_login(marketer)
        client.get(path)
        clock.shift(timedelta(seconds=ACTIVITY_RESOLUTION_SECONDS - 1))
        client.get(path)  # not written: inside the resolution
        clock.shift(
            timedelta(seconds=settings.SESSION_COOKIE_AGE - ACTIVITY_RESOLUTION_SECONDS + 2)
        )
        # 30 min + 1 s since the recorded activity: over.
        assert client.get(path).status_code == 302

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

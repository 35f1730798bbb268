"""Active sessions: each person sees theirs (device, IP, last seen) and ends them; an
admin can end anyone's."""

from __future__ import annotations

from allauth.usersessions.models import UserSession
from django.test import Client
from django.urls import reverse

from tests.team.conftest import sign_in


def _signed_in(user, agent: str) -> Client:
    client = Client(HTTP_USER_AGENT=agent)
    assert sign_in(client, user).status_code == 302
    client.get(reverse("overview"))
    return client


def test_a_person_sees_their_sessions_and_ends_another_one(marketer):
    laptop = _signed_in(marketer, "Laptop Firefox/140")
    phone = _signed_in(marketer, "Phone Safari/18")
    page = laptop.get(reverse("team:sessions")).content.decode()
    assert "Laptop Firefox/140" in page
    assert "Phone Safari/18" in page
    assert "127.0.0.1" in page
    assert "this browser" in page
    other = UserSession.objects.get(user=marketer, user_agent="Phone Safari/18")
    assert laptop.post(reverse("team:session_end", args=[other.pk])).status_code == 302
    assert phone.get(reverse("overview")).status_code == 302  # signed out there
    assert laptop.get(reverse("overview")).status_code == 200


def test_nobody_but_an_admin_ends_someone_elses_session(marketer, support, admin):
    _signed_in(marketer, "Marketer Chrome")
    nosy = _signed_in(support, "Support Chrome")
    theirs = UserSession.objects.get(user=marketer)
    assert nosy.post(reverse("team:session_end", args=[theirs.pk])).status_code == 403
    assert UserSession.objects.filter(pk=theirs.pk).exists()
    # Support does not see other people's sessions even when asking for all.
    assert "Marketer Chrome" not in nosy.get(reverse("team:sessions") + "?all=1").content.decode()

    boss = _signed_in(admin, "Admin Chrome")
    assert "Marketer Chrome" in boss.get(reverse("team:sessions") + "?all=1").content.decode()
    assert boss.post(reverse("team:session_end", args=[theirs.pk])).status_code == 302
    assert not UserSession.objects.filter(pk=theirs.pk).exists()


def test_last_seen_is_tracked_once_a_minute_not_on_every_request(marketer):
    """#17: allauth's session tracking rewrote the session's row on every request;
    here the first request of a session and then one a minute are tracked."""
    from datetime import timedelta

    import time_machine
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from dashboard.team.middleware import SESSION_TRACK_SECONDS

    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        browser = _signed_in(marketer, "Laptop Firefox/140")
        tracked = UserSession.objects.get(user=marketer)
        first_seen = tracked.last_seen_at

        clock.shift(timedelta(seconds=SESSION_TRACK_SECONDS / 2))
        with CaptureQueriesContext(connection) as ctx:
            browser.get(reverse("overview"))
        assert not [q for q in ctx.captured_queries if "usersessions_usersession" in q["sql"]]

        clock.shift(timedelta(seconds=SESSION_TRACK_SECONDS))
        browser.get(reverse("overview"))
        tracked.refresh_from_db()
        assert tracked.last_seen_at > first_seen
        assert tracked.last_seen_at >= start + timedelta(seconds=SESSION_TRACK_SECONDS)

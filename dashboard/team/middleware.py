"""The team's middleware: two-factor for admins, and the sessions list's "last seen".

Two-factor is required for the admin role (they hold every provider key). An admin
signed in without an authenticator (TOTP or a security key) is sent to the enrolment
page before any other page; the pages needed to enrol, sign out or set a password
stay open. allauth asks every enrolled user for their code at sign-in.
"""

from __future__ import annotations

import time

from allauth.usersessions.internal import usersessionkit
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse

from dashboard.core.roles import ADMIN, request_role

ENROL_FIRST = (
    "Admins must set up two-factor authentication before using the console: "
    "add this console to your authenticator app."
)

# Path prefixes an admin without a second factor may still open.
_OPEN_PREFIXES = ("/auth/", "/logout/", "/login/", "/static/", "/healthz", "/favicon.ico")


def admin_mfa_required(get_response):
    def middleware(request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.path.startswith(_OPEN_PREFIXES)
            and request_role(request) == ADMIN
            and not _has_second_factor(user)
        ):
            # Said once per redirect, so the enrolment page explains why it is shown.
            messages.info(request, ENROL_FIRST)
            return redirect(reverse("mfa_activate_totp") + "?next=" + request.path)
        return get_response(request)

    return middleware


def _has_second_factor(user) -> bool:
    from allauth.mfa.models import Authenticator

    return (
        Authenticator.objects.filter(user=user)
        .exclude(type=Authenticator.Type.RECOVERY_CODES)
        .exists()
    )


SESSION_TRACKED_KEY = "switchyard_session_tracked"
# How stale a session's "last seen" (and IP, browser) on the sessions page may be.
SESSION_TRACK_SECONDS = 60


def track_session_activity(get_response):
    """allauth's UserSessionsMiddleware, once a minute per session (#17): allauth
    reads and rewrites the session's row (three queries) on every request, which
    was a third of what a page cost in queries for a "last seen" shown to the
    minute. The first request of a session and then one a minute are tracked, by
    allauth's own code, so its IP / browser change signal still fires."""

    def middleware(request):
        session = getattr(request, "session", None)
        user = getattr(request, "user", None)
        if session is not None and user is not None and user.is_authenticated:
            now = time.time()
            tracked = session.get(SESSION_TRACKED_KEY)
            if tracked is None or now - float(tracked) >= SESSION_TRACK_SECONDS:
                usersessionkit.track_activity(request, user=user, session=session)
                session[SESSION_TRACKED_KEY] = now
        return get_response(request)

    return middleware

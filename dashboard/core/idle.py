"""Ending sessions that have been idle, even while a page polls (#15 item 12).

The session holds the time of the last request a person made; requests a page makes
by itself (they carry ``X-Switchyard-Poll: 1``, added by ``static/js/app.js`` to every
``every``/``load`` triggered request) do not move it, so a live page that polls every
second does not keep its session forever. Once that time is older than
``SESSION_COOKIE_AGE`` the user is logged out: a page gets the login redirect, an
htmx request an ``HX-Redirect`` so the whole page goes to the login form.

The time is written (and so the session saved, which also slides its expiry in the
session store) at most once per ``ACTIVITY_RESOLUTION_SECONDS`` (#17): saving the
session on every request was a write per page view for every user. An idle session
therefore ends between ``SESSION_COOKIE_AGE`` minus that resolution and
``SESSION_COOKIE_AGE`` after the person's last click.
"""

from __future__ import annotations

import time
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import resolve_url
from django_htmx.http import HttpResponseClientRedirect

POLL_HEADER = "HTTP_X_SWITCHYARD_POLL"
LAST_ACTIVITY_KEY = "switchyard_last_activity"
ACTIVITY_RESOLUTION_SECONDS = 60


def is_poll(request: HttpRequest) -> bool:
    return request.META.get(POLL_HEADER) == "1"


class IdleTimeoutMiddleware:
    """After AuthenticationMiddleware, before LoginRequiredMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = time.time()
            last = request.session.get(LAST_ACTIVITY_KEY)
            if last is not None and now - float(last) > settings.SESSION_COOKIE_AGE:
                logout(request)
                if request.headers.get("HX-Request") == "true":
                    login = resolve_url(settings.LOGIN_URL)
                    next_page = request.headers.get("HX-Current-URL", "")
                    query = "?" + urlencode({"next": next_page}) if next_page else ""
                    return HttpResponseClientRedirect(login + query)
            elif last is None or (
                not is_poll(request) and now - float(last) >= ACTIVITY_RESOLUTION_SECONDS
            ):
                request.session[LAST_ACTIVITY_KEY] = now
        return self.get_response(request)

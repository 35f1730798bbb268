"""Two-factor is required for the admin role (they hold every provider key).

An admin signed in without an authenticator (TOTP or a security key) is sent to the
enrolment page before any other page; the pages needed to enrol, sign out or set a
password stay open. allauth asks every enrolled user for their code at sign-in.
"""

from __future__ import annotations

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

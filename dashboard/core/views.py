"""Health check, favicon and the section pages not yet built."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu import Connection


@require_GET
@never_cache
@login_not_required
def healthz(request: HttpRequest) -> JsonResponse:
    """Database and broker reachability, for load balancers and ``make run``.

    200 when both answer, 503 otherwise; the body says which one failed and how long
    each check took. No secrets and no counts: it is unauthenticated.
    """
    checks = {"database": _check(_ping_database), "broker": _check(_ping_broker)}
    healthy = all(c["ok"] for c in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "unavailable", "checks": checks},
        status=200 if healthy else 503,
    )


def _check(probe) -> dict:
    started = time.perf_counter()
    try:
        probe()
    except Exception as exc:  # every failure is an answer here, not a 500
        return {
            "ok": False,
            "error": type(exc).__name__,
            "ms": round((time.perf_counter() - started) * 1000, 1),
        }
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}


def _ping_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()


def _ping_broker() -> None:
    with Connection(
        settings.CELERY_BROKER_URL,
        transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        connect_timeout=settings.HEALTHZ_BROKER_TIMEOUT,
    ) as conn:
        conn.ensure_connection(max_retries=1, timeout=settings.HEALTHZ_BROKER_TIMEOUT)


@require_GET
@login_not_required
def favicon(request: HttpRequest) -> HttpResponse:
    # Browsers ask for /favicon.ico whatever the page links to.
    return redirect(static("img/favicon.svg"), permanent=True)


def section_pending(request: HttpRequest, *, title: str, issue: str, blurb: str) -> HttpResponse:
    """A section whose feature has not been built yet: says so plainly."""
    return render(
        request,
        "core/section_pending.html",
        {"title": title, "issue": issue, "blurb": blurb},
    )

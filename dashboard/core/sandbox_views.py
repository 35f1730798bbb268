"""Serves the provider emulators under ``/sandbox/<provider>/`` (embedded default).

The emulators are plain WSGI apps in ``integrations``; this view hands them the
request untouched (same headers, same body) so a client cannot tell the console's
sandbox from one served on its own port. Fault controls, delays and concurrency are
guarded by :mod:`dashboard.core.sandbox_guard`.
"""

from __future__ import annotations

import io
import threading

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from dashboard.core import sandbox_guard
from integrations.registry import UnknownProvider, get_provider

_apps: dict[str, object] = {}
_lock = threading.Lock()


def sandbox_app(provider_key: str):
    """The process's emulator for ``provider_key`` (created on first use)."""
    with _lock:
        app = _apps.get(provider_key)
        if app is None:
            app = get_provider(provider_key).sandbox_app()
            app.max_fault_seconds = settings.SANDBOX_MAX_FAULT_SECONDS
            _apps[provider_key] = app
        return app


@csrf_exempt
@login_not_required
def sandbox(request: HttpRequest, provider: str, path: str = "") -> HttpResponse:
    try:
        app = sandbox_app(provider)
    except UnknownProvider:
        raise Http404("No such sandbox") from None
    if sandbox_guard.is_fault_control(request, path):
        refusal = sandbox_guard.fault_control_refusal(request)
        if refusal is not None:
            return refusal
    with sandbox_guard.sandbox_slot() as admitted:
        if not admitted:
            return sandbox_guard.busy_response()
        return _forward(request, app, provider, path)


def _forward(request: HttpRequest, app, provider: str, path: str) -> HttpResponse:
    environ = dict(request.META)
    environ["SCRIPT_NAME"] = f"/sandbox/{provider}"
    environ["PATH_INFO"] = "/" + path
    body = request.body
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body)) if body or "CONTENT_LENGTH" in environ else ""
    captured: dict = {}

    def start_response(status, headers, exc_info=None):
        captured["status"] = int(status.split(" ", 1)[0])
        captured["headers"] = headers

    chunks = app(environ, start_response)
    try:
        content = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    response = HttpResponse(content, status=captured["status"])
    for name, value in captured["headers"]:
        response[name] = value
    # The emulator answers for an API, not a page: no CSP or frame rules to add.
    response._csp_exempt = True
    return response

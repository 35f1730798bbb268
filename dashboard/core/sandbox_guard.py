"""What keeps the emulators mounted under ``/sandbox/<provider>/`` from being used
against the console that serves them.

- Fault controls (``/_sandbox/...`` and the ``X-Sandbox-Fault`` header) change what
  every demo account sees, so they need an admin session and a CSRF token, whatever
  the method: an anonymous or cross-site request gets a 403.
- Injected delays are capped at ``SANDBOX_MAX_FAULT_SECONDS``.
- At most ``SANDBOX_MAX_CONCURRENT`` sandbox requests run at once; the next one is
  answered 503 at once, so slow sandbox requests never hold every web thread and the
  console's own pages (and ``/healthz``) keep answering.

The plain provider API of the emulators stays open: it authenticates with the
provider's own credentials, like the real API.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware, RejectRequest

from dashboard.core.roles import perm

FAULT_HEADER = "HTTP_X_SANDBOX_FAULT"
CONTROL_PREFIX = "_sandbox/"

_slots_lock = threading.Lock()
_slots: tuple[int, threading.BoundedSemaphore] | None = None


def is_fault_control(request: HttpRequest, path: str) -> bool:
    return path.startswith(CONTROL_PREFIX) or FAULT_HEADER in request.META


def fault_control_refusal(request: HttpRequest) -> JsonResponse | None:
    """A 403 unless an admin sent the request with a valid CSRF token; else None."""
    user = request.user
    if not user.is_authenticated or not user.has_perm(perm("manage_accounts")):
        return JsonResponse({"error": "sandbox controls need an admin session"}, status=403)
    checker = CsrfViewMiddleware(lambda _request: None)
    try:
        # Even for GET: the header switches a fault on, which is a state change here.
        # _check_token is the middleware's own token check (process_view skips it for
        # safe methods); unsafe methods also get its Origin/Referer checks.
        if request.method in ("GET", "HEAD", "OPTIONS", "TRACE"):
            checker._check_token(request)
        else:
            refused = checker.process_view(request, None, (), {})
            if refused is not None:
                return JsonResponse({"error": "sandbox controls need a CSRF token"}, status=403)
    except RejectRequest:
        return JsonResponse({"error": "sandbox controls need a CSRF token"}, status=403)
    return None


def _semaphore() -> threading.BoundedSemaphore:
    global _slots
    size = max(1, int(settings.SANDBOX_MAX_CONCURRENT))
    with _slots_lock:
        if _slots is None or _slots[0] != size:
            _slots = (size, threading.BoundedSemaphore(size))
        return _slots[1]


@contextlib.contextmanager
def sandbox_slot() -> Iterator[bool]:
    """Yields True holding one of the sandbox's slots, or False when all are taken
    (never waits: a waiting request would hold a web thread all the same)."""
    semaphore = _semaphore()
    if not semaphore.acquire(blocking=False):
        yield False
        return
    try:
        yield True
    finally:
        semaphore.release()


def busy_response() -> JsonResponse:
    response = JsonResponse({"error": "the console's sandbox is busy; try again"}, status=503)
    response["Retry-After"] = "1"
    return response

"""Shared machinery for the provider emulators (``integrations/<provider>/sandbox.py``).

Each emulator is a WSGI application built on :class:`SandboxApp`. This module gives
them fault injection, a control endpoint, JSON helpers and a way to serve an
emulator on a free loopback port (tests, benchmarks, ``python -m ...sandbox``).

Fault injection can be switched on three ways:
- in code: ``app.faults.add(Fault(kind="status", status=503, rate=0.2))``;
- over HTTP: ``POST <sandbox>/_sandbox/faults`` with a JSON list of faults
  (``DELETE`` clears them, ``GET`` lists them) — this is how a test reaches an
  emulator served by another process;
- per request: a ``X-Sandbox-Fault`` header holding one fault as JSON or just a kind.

Credentials: an emulator accepts any well-formed credential except one containing
``0000dead`` (so a demo or test can show a rejected key without setup) and those
listed with ``POST <sandbox>/_sandbox/credentials {"reject": [...]}``; posting
``{"accept_only": [...]}`` turns it into an allow-list. ``DELETE`` restores the default.

A control request that changes state must not be one a web page could make: it is
refused when it carries an ``Origin`` (browsers add one to every cross-site POST) or a
body type other than JSON (a cross-site form can send text/plain without asking).
Arrival times: every API request's arrival is remembered (the last 250,000), so a
test can check a client's pace at the provider's end: ``busiest_window(seconds)``, or
``GET <sandbox>/_sandbox/arrivals`` for the count and the busiest second (``DELETE``
forgets them).

``max_fault_seconds`` caps every injected delay; the console sets it for the mounted
emulators, a standalone one leaves it unbounded for tests and benchmarks.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, make_server
from werkzeug.wrappers import Request, Response

REJECTED_MARKER = "0000dead"
MAX_ARRIVALS = 250_000
FAULT_KINDS = ("latency", "status", "rate_limit", "timeout", "malformed", "reset")


@dataclass
class Fault:
    """One injected misbehaviour.

    ``kind``: latency (delay then answer normally), status (answer ``status``),
    rate_limit (429 with ``Retry-After``), timeout (hold the request ``seconds``),
    malformed (a 200 with a broken body), reset (drop the connection).
    ``rate`` is the probability per matching request; ``count`` how many times it may
    fire (None: forever); ``path`` a path prefix it applies to; ``credential`` limits it
    to requests authenticated with that key (per account).
    """

    kind: str
    rate: float = 1.0
    count: int | None = None
    path: str = ""
    credential: str = ""
    status: int = 503
    retry_after: float = 1.0
    latency_ms: float = 200.0
    seconds: float = 30.0

    @classmethod
    def from_dict(cls, data: dict[str, Any] | str) -> Fault:
        if isinstance(data, str):
            data = {"kind": data}
        known = set(cls.__dataclass_fields__)
        fault = cls(**{k: v for k, v in data.items() if k in known})
        if fault.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {fault.kind!r}; expected one of {FAULT_KINDS}")
        return fault


@dataclass
class FaultPlan:
    faults: list[Fault] = field(default_factory=list)
    seed: int = 7
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self._random = random.Random(self.seed)

    def add(self, fault: Fault) -> None:
        with self._lock:
            self.faults.append(fault)

    def replace(self, faults: Iterable[Fault]) -> None:
        with self._lock:
            self.faults = list(faults)

    def clear(self) -> None:
        self.replace([])

    def pick(self, path: str, credential: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.path and not path.startswith(fault.path):
                    continue
                if fault.credential and fault.credential != credential:
                    continue
                if fault.count is not None and fault.count <= 0:
                    continue
                if fault.rate < 1.0 and self._random.random() >= fault.rate:
                    continue
                if fault.count is not None:
                    fault.count -= 1
                return fault
        return None

    def as_list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(f) for f in self.faults]


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(data), status=status, headers=headers, content_type="application/json"
    )


Handler = Callable[..., Response]

_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def control_write_refusal(request: Request) -> Response | None:
    """A 403 for a state-changing control request a browser page could have sent, or
    None. Test clients send JSON (or nothing) and no ``Origin``; a cross-site form or
    ``fetch(..., {mode: "no-cors"})`` cannot send ``application/json`` without a CORS
    preflight the emulator never answers, and always sends ``Origin``."""
    if request.method in _SAFE_METHODS:
        return None
    content_type = (request.mimetype or "").lower()
    if request.headers.get("Origin") or content_type not in ("", "application/json"):
        return json_response(
            {"error": "control requests must be JSON and not come from a web page"},
            status=403,
        )
    return None


class SandboxApp:
    """Base WSGI emulator: routing, fault injection and the control endpoint.

    Subclasses declare ``provider`` and ``rules`` (werkzeug ``Rule`` objects whose
    ``endpoint`` is a method name), and override :meth:`credential_of` and
    :meth:`error_response` so injected faults look like that provider's own errors.
    """

    provider = "sandbox"
    # None: faults hold requests as long as they ask (standalone emulators).
    max_fault_seconds: float | None = None

    def __init__(self, *, seed: int = 7):
        self.seed = seed
        self.faults = FaultPlan(seed=seed)
        self.lock = threading.RLock()
        self.request_count = 0
        # When each API request arrived (epoch seconds), for rate checks: bounded, so a
        # long-running demo stays flat (a 100,000-request benchmark fits whole).
        self.arrivals: deque[float] = deque(maxlen=MAX_ARRIVALS)
        self.rejected_credentials: set[str] = set()
        self.accepted_credentials: set[str] | None = None
        self.url_map = Map(self.rules())

    def rules(self) -> list[Rule]:
        raise NotImplementedError

    def credential_accepted(self, value: str) -> bool:
        """Whether the emulator treats ``value`` as a live credential (see module doc)."""
        if not value or REJECTED_MARKER in value.lower() or value in self.rejected_credentials:
            return False
        return self.accepted_credentials is None or value in self.accepted_credentials

    # --- hooks for subclasses -------------------------------------------------
    def credential_of(self, request: Request) -> str:
        """The key the request authenticates with (for per-account faults)."""
        return ""

    def error_response(self, request: Request, status: int, message: str) -> Response:
        """An error in this provider's own format."""
        return json_response({"error": message, "status": status}, status=status)

    def malformed_response(self, request: Request) -> Response:
        return Response(b'{"truncated": [1, 2, ', status=200, content_type="application/json")

    # --- WSGI -----------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        request = Request(environ)
        response = self.dispatch(request)
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        if request.path.startswith("/_sandbox/"):
            refusal = control_write_refusal(request)
            if refusal is not None:
                return refusal
            return self.control(request)
        with self.lock:
            self.request_count += 1
            self.arrivals.append(time.time())
        fault = self._fault_for(request)
        if fault is not None:
            injected = self._apply_fault(request, fault)
            if injected is not None:
                return injected
        adapter = self.url_map.bind_to_environ(request.environ)
        try:
            endpoint, args = adapter.match()
        except NotFound:
            return self.error_response(request, 404, f"No route for {request.path}")
        except MethodNotAllowed:
            return self.error_response(request, 405, f"{request.method} not allowed here")
        except HTTPException as exc:  # pragma: no cover - werkzeug redirects etc.
            return self.error_response(request, exc.code or 400, str(exc))
        return getattr(self, endpoint)(request, **args)

    def _fault_for(self, request: Request) -> Fault | None:
        header = request.headers.get("X-Sandbox-Fault")
        if header:
            try:
                spec = json.loads(header) if header.lstrip().startswith("{") else header
                return Fault.from_dict(spec)
            except (ValueError, TypeError):
                return None
        if not self.faults.faults:
            return None
        return self.faults.pick(request.path, self.credential_of(request))

    def _apply_fault(self, request: Request, fault: Fault) -> Response | None:
        if fault.kind == "latency":
            time.sleep(self._capped(fault.latency_ms / 1000))
            return None
        if fault.kind == "timeout":
            time.sleep(self._capped(fault.seconds))
            return self.error_response(request, 504, "The sandbox held this request on purpose")
        if fault.kind == "rate_limit":
            response = self.error_response(request, 429, "Too many requests")
            response.headers["Retry-After"] = f"{fault.retry_after:g}"
            return response
        if fault.kind == "status":
            return self.error_response(request, fault.status, "Injected failure")
        if fault.kind == "malformed":
            return self.malformed_response(request)
        if fault.kind == "reset":
            sock = request.environ.get("werkzeug.socket")
            if sock is not None:
                import socket

                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            return Response(b"", status=500)
        return None

    def _capped(self, seconds: float) -> float:
        seconds = max(0.0, float(seconds))
        cap = self.max_fault_seconds
        return seconds if cap is None else min(seconds, cap)

    def control(self, request: Request) -> Response:
        if request.path != "/_sandbox/faults":
            if request.path == "/_sandbox/stats":
                return json_response({"requests": self.request_count, **self.stats()})
            if request.path == "/_sandbox/arrivals":
                if request.method == "DELETE":
                    with self.lock:
                        self.arrivals.clear()
                times = self.arrival_times()
                return json_response(
                    {"arrivals": len(times), "busiest_second": busiest_window(times, 1.0)}
                )
            if request.path == "/_sandbox/credentials":
                return self.control_credentials(request)
            if request.path == "/_sandbox/reset" and request.method == "POST":
                self.reset()
                return json_response({"reset": True})
            return json_response({"error": "unknown control path"}, status=404)
        if request.method == "GET":
            return json_response({"faults": self.faults.as_list()})
        if request.method == "DELETE":
            self.faults.clear()
            return json_response({"faults": []})
        try:
            body = json.loads(request.get_data() or b"[]")
            specs = body if isinstance(body, list) else body.get("faults", [body])
            faults = [Fault.from_dict(s) for s in specs]
        except (ValueError, TypeError, AttributeError) as exc:
            return json_response({"error": str(exc)}, status=400)
        self.faults.replace(faults)
        return json_response({"faults": self.faults.as_list()})

    def control_credentials(self, request: Request) -> Response:
        if request.method == "DELETE":
            self.restore_credentials()
        elif request.method == "POST":
            try:
                body = json.loads(request.get_data() or b"{}")
                self.rejected_credentials |= set(body.get("reject", []))
                if "accept_only" in body:
                    accept = body["accept_only"]
                    self.accepted_credentials = None if accept is None else set(accept)
            except (ValueError, TypeError, AttributeError) as exc:
                return json_response({"error": str(exc)}, status=400)
        return json_response(
            {
                "reject": sorted(self.rejected_credentials),
                "accept_only": (
                    None if self.accepted_credentials is None else sorted(self.accepted_credentials)
                ),
            }
        )

    def stats(self) -> dict[str, Any]:
        """Extra counters a subclass exposes at ``/_sandbox/stats``."""
        return {}

    def arrival_times(self) -> list[float]:
        """When each remembered API request arrived (epoch seconds, in order)."""
        with self.lock:
            return list(self.arrivals)

    def busiest_window(self, seconds: float = 1.0) -> int:
        """The most API requests that arrived within any ``seconds`` (a sliding window:
        any start, not only whole seconds)."""
        return busiest_window(self.arrival_times(), seconds)

    def restore_credentials(self) -> None:
        """Back to the default rule: every well-formed credential without the marker."""
        self.rejected_credentials = set()
        self.accepted_credentials = None

    def reset(self) -> None:
        """Forget state written since start: faults, credential rules, arrival times
        (subclasses re-seed)."""
        self.faults.clear()
        self.restore_credentials()
        with self.lock:
            self.arrivals.clear()


def busiest_window(times: list[float], seconds: float = 1.0) -> int:
    """The most of ``times`` (ascending) inside any half-open window ``[t, t + seconds)``."""
    busiest = 0
    first = 0
    for last, at in enumerate(times):
        while at - times[first] >= seconds:
            first += 1
        busiest = max(busiest, last - first + 1)
    return busiest


@dataclass
class RunningSandbox:
    app: SandboxApp
    server: BaseWSGIServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def serve(app: SandboxApp, host: str = "127.0.0.1", port: int = 0) -> RunningSandbox:
    """Serve ``app`` on a loopback port in a daemon thread (0 picks a free port)."""
    server = make_server(host, port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=f"sandbox-{app.provider}")
    thread.daemon = True
    thread.start()
    return RunningSandbox(app=app, server=server, thread=thread)


def run_cli(create_app: Callable[..., SandboxApp], default_port: int) -> None:
    """``python -m integrations.<provider>.sandbox [--host H] [--port P] [--seed S]``."""
    parser = argparse.ArgumentParser(description=f"Run the {create_app().provider} emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=default_port)
    parser.add_argument("--seed", type=int, default=7)
    options = parser.parse_args()
    app = create_app(seed=options.seed)
    server = make_server(options.host, options.port, app, threaded=True)
    print(f"{app.provider} sandbox on http://{options.host}:{server.server_port}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()

"""Fixtures for the alert tests: a real SMTP server (aiosmtpd) and a real HTTP
receiver on loopback that checks each webhook's signature, plus small builders."""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from dashboard.alerts import services, transport
from tests.calls.conftest import croct_problem, make_account, record  # noqa: F401


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _quick_alert_settings(settings):
    # Short timeouts and no backoff wait: the fault tests retry within the test.
    settings.ALERTS_SEND_TIMEOUT = 0.5
    settings.ALERTS_CONNECT_TIMEOUT = 0.5
    settings.ALERTS_RETRY_BASE_SECONDS = 0
    settings.ALERTS_MAX_ATTEMPTS = 3
    settings.ALERTS_DIGEST_AFTER = 3


@dataclass
class Received:
    body: bytes
    headers: dict
    verified: bool


@dataclass
class Receiver:
    url: str
    received: list[Received] = field(default_factory=list)
    # Answers to give, in order (status code, or "hang" to time out); then 200.
    script: list = field(default_factory=list)
    secret: str = ""

    @property
    def payloads(self) -> list[dict]:
        return [json.loads(r.body) for r in self.received]


@pytest.fixture
def receiver():
    """A webhook receiver on 127.0.0.1 verifying ``X-Switchyard-Signature`` with
    ``receiver.secret`` (set it from the destination's signing secret)."""
    state = Receiver(url="")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                answer = state.script.pop(0) if state.script else 200
                state.received.append(
                    Received(
                        body,
                        dict(self.headers),
                        transport.verify(
                            self.headers.get(transport.SIGNATURE_HEADER, ""), body, state.secret
                        ),
                    )
                )
            if answer == "hang":
                time.sleep(1.5)
                answer = 200
            self.send_response(answer)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok" if answer < 300 else b"upstream exploded")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_port}/hooks/switchyard"
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def smtp_server(settings):
    """A real SMTP server (aiosmtpd) on loopback; Django's mail is pointed at it."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Message

    class Collect(Message):
        def __init__(self):
            super().__init__()
            self.messages = []

        def handle_message(self, message):
            self.messages.append(message)

    handler = Collect()
    with socket.socket() as probe:  # a free port: the controller probes the one it gets
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = False
    yield handler
    controller.stop()


@pytest.fixture
def webhook(receiver, db):
    """A webhook destination pointing at ``receiver`` (its secret handed over)."""
    created = services.destination_create(target=receiver.url, label="receiver")
    receiver.secret = created.signing_secret
    return created.destination


def add_rule(kind: str, destination, **kwargs):
    return services.rule_add(kind=kind, destinations=[destination], **kwargs)

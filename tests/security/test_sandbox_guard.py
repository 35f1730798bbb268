"""The emulators mounted under /sandbox/<provider>/ cannot be used against the console
(#15 item 1): fault controls need an admin session and a CSRF token, injected delays
are capped, and slow sandbox requests never hold every web thread."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from wsgiref.simple_server import WSGIServer

import pytest
import requests
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import WSGIRequestHandler
from django.db import connections
from django.test import Client

from dashboard.core.sandbox_views import sandbox_app
from integrations.octy.sandbox import DEMO_SECRETS

TOKEN = "a" * 32  # a CSRF secret: the cookie holds it, the header repeats it
CREDENTIALS = "/sandbox/octy/_sandbox/credentials"


@pytest.fixture
def octy_app():
    app = sandbox_app("octy")
    app.restore_credentials()
    yield app
    app.restore_credentials()
    app.faults.clear()


def _basic_auth() -> str:
    import base64

    pair = f"{DEMO_SECRETS['public_key']}:{DEMO_SECRETS['secret_key']}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def _strict_client(user=None) -> Client:
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        client.force_login(user)
    client.cookies["csrftoken"] = TOKEN
    return client


def test_an_anonymous_text_plain_post_cannot_change_the_sandbox_credentials(db, octy_app):
    # What a cross-site <form enctype="text/plain"> sends.
    response = Client().post(
        CREDENTIALS, data='{"reject": ["anything"]}', content_type="text/plain"
    )

    assert response.status_code == 403
    assert octy_app.rejected_credentials == set()


def test_an_anonymous_json_post_and_fault_header_are_refused(db, octy_app):
    client = _strict_client()
    posted = client.post(
        CREDENTIALS,
        data=json.dumps({"reject": ["x"]}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=TOKEN,
    )
    faulted = client.get("/sandbox/octy/v1/anything", HTTP_X_SANDBOX_FAULT="status")

    assert posted.status_code == 403
    assert faulted.status_code == 403
    assert octy_app.rejected_credentials == set()


def test_a_marketer_cannot_use_the_controls(marketer, octy_app):
    response = _strict_client(marketer).post(
        CREDENTIALS,
        data=json.dumps({"reject": ["x"]}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=TOKEN,
    )

    assert response.status_code == 403
    assert octy_app.rejected_credentials == set()


def test_an_admin_needs_the_csrf_token(admin, octy_app):
    client = _strict_client(admin)
    body = json.dumps({"reject": ["rejected-key"]})

    without = client.post(CREDENTIALS, data=body, content_type="application/json")
    header_without = client.get("/sandbox/octy/v1/anything", HTTP_X_SANDBOX_FAULT="status")
    assert without.status_code == 403
    assert header_without.status_code == 403
    assert octy_app.rejected_credentials == set()

    with_token = client.post(
        CREDENTIALS, data=body, content_type="application/json", HTTP_X_CSRFTOKEN=TOKEN
    )
    assert with_token.status_code == 200
    assert octy_app.rejected_credentials == {"rejected-key"}


def test_an_admin_s_fault_header_works_and_its_delay_is_capped(admin, octy_app, settings):
    octy_app.max_fault_seconds = 0.3
    client = _strict_client(admin)

    started = time.monotonic()
    response = client.get(
        "/sandbox/octy/v1/anything",
        HTTP_X_SANDBOX_FAULT=json.dumps({"kind": "timeout", "seconds": 60}),
        HTTP_X_CSRFTOKEN=TOKEN,
        HTTP_AUTHORIZATION=_basic_auth(),
    )

    assert response.status_code == 504, response.content
    assert time.monotonic() - started < 5


def test_the_mounted_sandbox_caps_delays_from_the_setting(db, settings):
    from dashboard.core import sandbox_views

    settings.SANDBOX_MAX_FAULT_SECONDS = 1.5
    sandbox_views._apps.pop("altcraft", None)
    try:
        assert sandbox_app("altcraft").max_fault_seconds == 1.5
    finally:
        sandbox_views._apps.pop("altcraft", None)


class _PooledWSGIServer(WSGIServer):
    """A fixed pool of request threads, like gunicorn's gthread worker: what the
    embedded default runs, and what an unbounded test server would not show."""

    def __init__(self, *args, threads: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.pool = ThreadPoolExecutor(threads)

    def process_request(self, request, client_address):
        self.pool.submit(self._work, request, client_address)

    def _work(self, request, client_address):
        try:
            self.finish_request(request, client_address)
        except Exception:
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            connections.close_all()


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def pooled_console(transactional_db):
    server = _PooledWSGIServer(("127.0.0.1", 0), _QuietHandler, threads=8)
    server.set_app(WSGIHandler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    server.pool.shutdown(wait=True)


def test_sixteen_slow_fault_requests_do_not_delay_healthz(pooled_console, admin, settings):
    settings.SANDBOX_MAX_CONCURRENT = 4
    app = sandbox_app("octy")
    app.max_fault_seconds = 3.0
    client = Client()
    client.force_login(admin)
    cookies = {"sessionid": client.cookies["sessionid"].value, "csrftoken": TOKEN}
    headers = {
        "X-Sandbox-Fault": json.dumps({"kind": "timeout", "seconds": 600}),
        "X-CSRFToken": TOKEN,
        "Authorization": _basic_auth(),
    }

    def slow(_):
        started = time.monotonic()
        answer = requests.get(
            f"{pooled_console}/sandbox/octy/v1/x", headers=headers, cookies=cookies, timeout=30
        )
        return answer.status_code, time.monotonic() - started

    with ThreadPoolExecutor(16) as pool:
        slow_requests = [pool.submit(slow, i) for i in range(16)]
        time.sleep(0.5)  # every slow request has reached the server
        started = time.monotonic()
        health = requests.get(f"{pooled_console}/healthz", timeout=30)
        health_seconds = time.monotonic() - started
        results = [f.result() for f in slow_requests]

    assert health.status_code == 200
    assert health_seconds < 1.5, f"/healthz took {health_seconds:.1f}s"
    statuses = [status for status, _ in results]
    assert statuses.count(504) <= 4  # held (capped) by the sandbox
    assert statuses.count(503) >= 12  # refused at once, not queued
    assert max(seconds for _, seconds in results) < 10  # the cap, not the 600 s asked


def test_a_standalone_sandbox_refuses_control_writes_a_web_page_could_send():
    from integrations.octy.sandbox import create_app
    from integrations.sandbox import serve

    running = serve(create_app())
    try:
        url = f"{running.url}/_sandbox/credentials"
        form = requests.post(
            url, data='{"reject": ["x"]}', headers={"Content-Type": "text/plain"}, timeout=5
        )
        cross_site = requests.post(
            url, json={"reject": ["x"]}, headers={"Origin": "https://evil.example"}, timeout=5
        )
        test_client = requests.post(url, json={"reject": ["y"]}, timeout=5)
    finally:
        running.stop()

    assert form.status_code == 403
    assert cross_site.status_code == 403
    assert test_client.status_code == 200
    assert running.app.rejected_credentials == {"y"}

"""Fixtures for the whole suite: role users, a real Celery worker, sandboxes on free
ports, a real Chromium, and a guard that refuses any non-loopback connection."""

from __future__ import annotations

import ipaddress
import os
import socket
from contextlib import contextmanager
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

# Property tests check properties, not speed: Hypothesis's default 200 ms deadline per
# example fails them when the machine is busy (CI runs beside other work). A failure
# prints the blob that replays it.
hypothesis_settings.register_profile("switchyard", deadline=None, print_blob=True)
hypothesis_settings.load_profile("switchyard")

# Playwright's sync API runs an event loop in the test thread; Django would otherwise
# refuse ORM calls from the live-server fixtures in the same thread.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct-horse-battery-staple-42"


# --- no network but loopback ----------------------------------------------------------
def _is_loopback(address) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX socket path
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


class OutboundConnectionRefused(RuntimeError):
    pass


@pytest.fixture(autouse=True)
def _only_loopback_connections(monkeypatch):
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def connect(sock, address):
        if not _is_loopback(address):
            raise OutboundConnectionRefused(f"tests may only connect to loopback, not {address!r}")
        return real_connect(sock, address)

    def connect_ex(sock, address):
        if not _is_loopback(address):
            raise OutboundConnectionRefused(f"tests may only connect to loopback, not {address!r}")
        return real_connect_ex(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)


# --- the call log, written as production writes it -----------------------------------
_OWN_TRANSACTIONS = {"transactional_db", "live_server", "celery_worker"}


def _runs_in_test_transaction(request) -> bool:
    """Whether pytest-django wraps this test in one transaction it rolls back (``db``)."""
    if _OWN_TRANSACTIONS & set(request.fixturenames):
        return False
    marker = request.node.get_closest_marker("django_db")
    if marker is None:
        return True
    return not (marker.kwargs.get("transaction") or (marker.args and marker.args[0]))


@pytest.fixture(autouse=True)
def call_log_writer(request, monkeypatch):
    """Every test records calls through the background writer, the production default
    (``CALL_LOG_WRITER=background``), fresh for the test; read rows after
    :func:`flush_call_log`.

    Tests on ``transactional_db`` (and so ``live_server``, ``celery_worker``) get the
    real writer thread on its own connection. A test inside pytest-django's rolled-back
    transaction (``db``) cannot: the thread's connection does not see the accounts and
    events the test created, so on SQLite it waits for the test's write lock and on
    PostgreSQL its rows point at nothing. Its writer runs the same code (queue, batches,
    retries, salvage of refused rows) minus the thread: a flush writes the queue on the
    test's own connection (``on_caller_thread``, see dashboard/calls/recorder.py), and
    so does the end of each test-client request and Celery task, as in production.
    """
    from dashboard.calls import recorder, services

    threaded = not _runs_in_test_transaction(request)
    if threaded:
        # Set up before this fixture, so torn down after the writer has stopped.
        request.getfixturevalue("transactional_db")
        settings = request.getfixturevalue("settings")
        # The writer thread's connection must close with it, or the test database
        # cannot be flushed or dropped.
        settings.DATABASES["default"]["CONN_MAX_AGE"] = 0
    writer = recorder.BackgroundCallWriter(on_caller_thread=not threaded)
    monkeypatch.setattr(recorder, "writer", writer)
    monkeypatch.setattr(services, "writer", writer)
    yield writer
    writer.stop()


def flush_call_log(timeout: float = 30.0) -> None:
    """Wait until every call row recorded so far is written: call it before reading
    ApiCall rows that a provider call made outside a finished request or task."""
    from dashboard.calls import recorder

    assert recorder.writer.flush(timeout=timeout), f"call log not written within {timeout}s"


# --- users per role -----------------------------------------------------------------
def make_user(role: str | None, username: str | None = None):
    from django.contrib.auth.models import Group, User

    from dashboard.core.roles import sync_roles

    if role and not Group.objects.filter(name=role).exists():
        sync_roles()  # a transactional test flushed the migration's groups
    user = User.objects.create_user(
        username=username or f"{role or 'nobody'}-user", password=PASSWORD
    )
    if role:
        user.groups.add(Group.objects.get(name=role))
    if role == "admin":
        # The admin role requires a second factor (dashboard/team/middleware.py): the
        # shared admin is enrolled like a real one. Test-client logins (force_login)
        # skip the whole sign-in flow, password and code alike; browser logins and
        # tests/team go through it with a real code (browser_login below).
        enrol_totp(user)
    return user


def enrol_totp(user) -> str:
    """Give ``user`` an authenticator app (stored as the console stores it). Returns
    the base32 secret an app would be set up with."""
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def totp_code(user, *, offset: int = 0) -> str:
    """The code ``user``'s authenticator app shows now (``offset`` periods later),
    computed with allauth's own RFC 6238 helpers from the stored, encrypted secret."""
    import time

    from allauth.mfa import app_settings
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
    from allauth.mfa.utils import decrypt

    authenticator = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    secret = decrypt(authenticator.data["secret"])
    counter = int(time.time()) // app_settings.TOTP_PERIOD + offset
    return format_hotp_value(hotp_value(secret, counter))


@pytest.fixture
def marketer(db):
    return make_user("marketer")


@pytest.fixture
def support(db):
    return make_user("support")


@pytest.fixture
def admin(db):
    return make_user("admin")


@pytest.fixture
def role_users(marketer, support, admin):
    return {"marketer": marketer, "support": support, "admin": admin}


@pytest.fixture
def client_for(client):
    """``client_for(user)``: the test client logged in as ``user``."""

    def login(user):
        client.force_login(user)
        return client

    return login


# --- single sign-on ---------------------------------------------------------------
@pytest.fixture
def idp(settings):
    """A real OIDC provider on loopback (tests/team/oidc_provider.py), configured as the
    console's "Company SSO"; its groups sy-admins and sy-support map to roles."""
    from tests.team.oidc_provider import OidcProvider

    provider = OidcProvider().start()
    settings.OIDC_ROLE_CLAIM = "groups"
    settings.OIDC_ROLE_MAP = {"sy-admins": "admin", "sy-support": "support"}
    settings.SOCIALACCOUNT_PROVIDERS = {
        "openid_connect": {
            "OAUTH_PKCE_ENABLED": True,
            "APPS": [
                {
                    "provider_id": "sso",
                    "name": "Company SSO",
                    "client_id": provider.client.client_id,
                    "secret": provider.client.client_secret,
                    "settings": {"server_url": provider.issuer},
                }
            ],
        }
    }
    yield provider
    provider.stop()


# --- Celery ---------------------------------------------------------------------------
@pytest.fixture
def celery_worker(transactional_db, settings):
    """A real Celery worker (in a thread) consuming every queue of the configured
    broker (the default one and the interactive one)."""
    # Connections opened by the worker thread must close after each task, or the test
    # database cannot be flushed or dropped.
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0
    purge_queues()
    with worker_thread() as worker:
        yield worker


def purge_queues() -> None:
    """Drop what earlier tests left in every queue the app routes to."""
    from dashboard.celery import app

    with app.connection_for_write() as conn:
        for name in app.amqp.queues:
            conn.default_channel.queue_purge(name)


@contextmanager
def worker_thread(
    *, queues: list[str] | None = None, concurrency: int = 2, shutdown_timeout: float = 15
):
    """A real Celery worker (``concurrency`` threads) on the app's broker as configured
    now, consuming ``queues`` (default: all of them)."""
    from celery.contrib.testing.worker import start_worker
    from celery.worker import state

    from dashboard.celery import app

    # Celery keeps "stop" / "terminate" in module globals that start_worker resets only
    # when its thread exits in time: one worker that overran its shutdown_timeout would
    # leave them set, and every later worker would stop before it is ready (a test that
    # hangs until the pytest timeout). Each worker starts from a clean state.
    state.should_stop = state.should_terminate = None
    try:
        with start_worker(
            app,
            pool="threads",
            concurrency=concurrency,
            perform_ping_check=False,
            loglevel="WARNING",
            shutdown_timeout=shutdown_timeout,
            queues=queues,
        ) as worker:
            yield worker
    finally:
        # A worker's queue selection is kept on the shared app: the next one starts
        # from every queue again.
        app.amqp.queues.select(list(app.amqp.queues))
        state.should_stop = state.should_terminate = None


def wait_for(predicate, timeout: float = 15.0, interval: float = 0.05):
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout``."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


# --- provider sandboxes ------------------------------------------------------------------
@pytest.fixture(scope="session")
def sandboxes():
    """Every provider's emulator on its own free loopback port, for the whole run."""
    from integrations.registry import all_providers
    from integrations.sandbox import serve

    running = {p.key: serve(p.sandbox_app()) for p in all_providers()}
    yield running
    for sandbox in running.values():
        sandbox.stop()


@pytest.fixture
def sandbox(sandboxes):
    """The sandboxes back to their seeded state (no faults, default credential rules)."""
    for running in sandboxes.values():
        running.app.reset()
    return sandboxes


@pytest.fixture
def demo_account(db, sandbox):
    """``demo_account("croct")``: an account connected to that provider's sandbox."""
    import importlib

    from dashboard.accounts.services import account_connect
    from integrations.registry import get_provider

    def connect(provider_key: str, name: str | None = None, **overrides):
        provider = get_provider(provider_key)
        demo = importlib.import_module(provider.sandbox_module)
        return account_connect(
            provider=provider_key,
            name=name or f"{provider.label} test",
            base_url=sandbox[provider_key].url,
            settings=overrides.pop("settings", dict(demo.DEMO_SETTINGS)),
            secrets=overrides.pop("secrets", dict(demo.DEMO_SECRETS)),
            **overrides,
        )

    return connect


# --- browser --------------------------------------------------------------------------
@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        message = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("SWITCHYARD_REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message + ": browser journeys skipped")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server, transactional_db):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 860})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def screenshot(page, name: str, **options) -> Path:
    """A full-page PNG under the artifacts; ``options`` go to Playwright's screenshot
    (``caret="initial"`` before an htmx swap of form fields: hiding the caret leaves
    ``style=""`` on every input, which htmx's settle then copies, a CSP violation)."""
    folder = ARTIFACTS / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=True, **options)
    return path


def browser_login(page, username: str, password: str = PASSWORD) -> None:
    """Sign in through the real form; an enrolled user then types their current code."""
    from django.contrib.auth.models import User

    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("form[action='/login/'] button[type=submit]")
    page.wait_for_load_state()
    # A code computed just before its 30 s period ends can reach the server after it
    # (allauth accepts the current period only): as a person would, type the new one.
    for _ in range(2):
        if "/auth/2fa/authenticate/" not in page.url:
            break
        page.fill("input[name=code]", totp_code(User.objects.get(username=username)))
        page.click("button[type=submit]")
        page.wait_for_load_state()

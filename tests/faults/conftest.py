"""Fixtures for the fault tests: a private Redis broker that can be killed and brought
back on the same port, and a real Celery worker consuming it."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time

import pytest

REDIS_SERVER = "/usr/bin/redis-server"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """One ``redis-server`` process on a fixed loopback port, without persistence."""

    def __init__(self, port: int, folder: str):
        self.port = port
        self.folder = folder
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 10.0) -> None:
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.folder,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if self.client().ping():
                    return
            except Exception:
                time.sleep(0.05)
        raise AssertionError(f"redis-server did not start on port {self.port}")

    def kill(self) -> None:
        """The broker goes away at once (SIGKILL: no goodbye to its clients)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def client(self):
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2)

    def queue_length(self, queue: str = "celery") -> int:
        return self.client().llen(queue)


def reset_broker_pools(app) -> None:
    """Drop the pooled broker connections so the next publish uses the current
    ``broker_url`` (what Celery itself does after a fork). kombu keeps its pools in a
    process-wide registry keyed by connection: they are closed *and* forgotten, or the
    app would get the same (closed) pool back for the same URL."""
    from kombu import pools

    pools.reset()
    app._pool = None
    amqp = app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None


@pytest.fixture
def redis_broker(settings, monkeypatch):
    """A private redis-server the Celery app (and /healthz) use for this test only."""
    if not shutil.which(REDIS_SERVER):
        pytest.skip(f"{REDIS_SERVER} not installed")
    from dashboard.celery import app

    folder = tempfile.mkdtemp(prefix="switchyard-redis-")
    server = RedisServer(_free_port(), folder)
    server.start()
    saved = {
        "broker_url": app.conf.broker_url,
        "broker_transport_options": app.conf.broker_transport_options,
    }
    # Celery reads these variables before its own setting (CI sets CELERY_BROKER_URL).
    for variable in ("CELERY_BROKER_URL", "CELERY_BROKER_READ_URL", "CELERY_BROKER_WRITE_URL"):
        monkeypatch.delenv(variable, raising=False)
    app.conf.broker_url = server.url
    app.conf.broker_transport_options = {"visibility_timeout": 3600}
    settings.CELERY_BROKER_URL = server.url
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
    settings.HEALTHZ_BROKER_TIMEOUT = 0.5
    reset_broker_pools(app)
    try:
        yield server
    finally:
        reset_broker_pools(app)
        app.conf.broker_url = saved["broker_url"]
        app.conf.broker_transport_options = saved["broker_transport_options"]
        monkeypatch.undo()  # the environment back before the next test publishes
        server.kill()
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def start_worker_on(transactional_db, settings):
    """``with start_worker_on(): ...``: a real worker thread consuming the app's broker
    as it is configured at that moment (tests/conftest.py ``celery_worker`` starts one
    before the test body, on the default broker)."""
    from tests.conftest import worker_thread

    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0
    return worker_thread

"""The embedded broker's messages appear whole (#17): kombu's filesystem transport
created a message file empty and wrote it after, and a worker that listed the folder
in between read an empty message and stopped on ``JSONDecodeError``."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from queue import Empty

import pytest
from django.conf import settings
from kombu import Connection

from dashboard.core import broker


@pytest.fixture
def channels(tmp_path):
    folder, processed = tmp_path / "queue", tmp_path / "processed"
    folder.mkdir()
    processed.mkdir()
    options = {
        "data_folder_in": str(folder),
        "data_folder_out": str(folder),
        "processed_folder": str(processed),
        "control_folder": str(tmp_path / "control"),
        "store_processed": False,
    }
    connections = [
        Connection("filesystem://", transport=broker.Transport, transport_options=options)
        for _ in range(2)
    ]
    yield [c.default_channel for c in connections]
    for connection in connections:
        connection.release()


def test_a_reader_never_sees_a_message_being_written(channels, monkeypatch):
    writer, reader = channels
    seen_while_writing = []
    real = broker.str_to_bytes

    def bytes_while_a_worker_looks(text):
        # The moment kombu's own _put had an empty file in the folder: look as a worker.
        with contextlib.suppress(Empty):
            seen_while_writing.append(reader._get("interactive"))
        return real(text)

    monkeypatch.setattr(broker, "str_to_bytes", bytes_while_a_worker_looks)
    writer._put("interactive", {"body": "preview 1"})

    assert seen_while_writing == []
    assert reader._get("interactive") == {"body": "preview 1"}
    with pytest.raises(Empty):
        reader._get("interactive")
    assert os.listdir(writer.data_folder_out) == []  # no partial file left behind


def test_a_burst_read_while_written_loses_and_breaks_nothing(channels):
    writer, reader = channels
    total, received, failures = 2000, [], []
    done = threading.Event()

    def read():
        while not (done.is_set() and len(received) == total):
            try:
                received.append(reader._get("celery")["n"])
            except Empty:
                continue
            except Exception as exc:  # the worker's crash, as a test failure
                failures.append(exc)
                return

    thread = threading.Thread(target=read)
    thread.start()
    for n in range(total):
        writer._put("celery", {"n": n, "payload": "x" * 2000})
    done.set()
    thread.join(timeout=60)

    assert failures == []
    assert sorted(received) == list(range(total))


def test_the_embedded_default_uses_this_transport(tmp_path):
    # A fresh interpreter with no DATABASE_URL / CELERY_BROKER_URL: the embedded default.
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env.update(SWITCHYARD_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="dashboard.settings")
    probe = (
        "import django; django.setup()\n"
        "from dashboard.celery import app\n"
        "with app.connection_for_write() as conn:\n"
        "    print(type(conn.default_channel).__module__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.strip().splitlines()[-1] == "dashboard.core.broker"

"""The embedded default's filesystem broker looks for new messages often enough that a
preview does not wait for it: kombu's own default sleeps 1 s between empty polls, which
added up to a second to every task (#17)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from django.conf import settings

# Run in a fresh interpreter with no DATABASE_URL / CELERY_BROKER_URL: the settings the
# embedded default gets, whatever stack this test run uses. Opening a real kombu
# connection with those transport options shows what the transport made of them, so a
# misspelled option (kombu ignores unknown ones) fails here.
PROBE = """
import json
from django.conf import settings
from kombu import Connection

options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
with Connection(settings.CELERY_BROKER_URL, transport_options=options) as conn:
    channel = conn.default_channel
    print(json.dumps({
        "url": settings.CELERY_BROKER_URL,
        "option": options.get("polling_interval"),
        "transport": conn.transport.polling_interval,
        "channel_transport": type(channel).__module__,
    }))
"""


def _embedded_broker(tmp_path) -> dict:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "CELERY_BROKER_URL")
    }
    env.update(
        SWITCHYARD_VAR_DIR=str(tmp_path),
        DJANGO_SETTINGS_MODULE="dashboard.settings",
        LOG_LEVEL="WARNING",
    )
    done = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + PROBE],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_filesystem_broker_polls_at_least_every_100_ms(tmp_path):
    broker = _embedded_broker(tmp_path)

    assert broker["url"].startswith("filesystem://")
    assert broker["channel_transport"] == "kombu.transport.filesystem"
    assert broker["option"] is not None
    assert broker["option"] <= 0.1
    # What the transport actually sleeps between empty polls (1.0 if it ignored us).
    assert broker["transport"] == broker["option"]

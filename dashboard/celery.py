"""The Celery app: JSON only, late acks, one message at a time, bounded retries.

Tasks are thin (load a row by id, call one service) and idempotent, which is what
makes ``acks_late`` + ``reject_on_worker_lost`` safe: a worker killed mid-task gets
its message redelivered and the row says how far it got.
"""

from __future__ import annotations

import os
from pathlib import Path

from celery import Celery, Task
from celery.signals import beat_init
from django.conf import settings

from dashboard.core.processes import BEAT_LOCK_NAME, acquire_beat_lock, beat_lock_holder

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dashboard.settings")


class SwitchyardTask(Task):
    # The default policy: a task that opts into autoretry gets at most this many
    # attempts, backing off exponentially with jitter.
    max_retries = 5
    retry_backoff = 2
    retry_backoff_max = 300
    retry_jitter = True


app = Celery("switchyard", task_cls=SwitchyardTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    event_serializer="json",
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_ignore_result=True,
    result_backend=None,
    broker_connection_retry_on_startup=True,
    # Publishing gives up after a few tries instead of hanging a web request.
    task_publish_retry=True,
    task_publish_retry_policy={
        "max_retries": 3,
        "interval_start": 0,
        "interval_step": 0.5,
        "interval_max": 1,
    },
    broker_connection_timeout=4,
    timezone="UTC",
    enable_utc=True,
    worker_hijack_root_logger=False,
)
if str(app.conf.broker_url).startswith("filesystem://"):
    # The filesystem transport has no broadcast exchange: no remote control.
    app.conf.worker_enable_remote_control = False
    app.conf.worker_send_task_events = False
app.autodiscover_tasks()


@beat_init.connect
def _refuse_a_second_beat(sender=None, **_kwargs) -> None:
    """Two beats send every periodic task twice: the second one stops here."""
    path = Path(settings.VAR_DIR) / BEAT_LOCK_NAME
    if not acquire_beat_lock(path):
        raise SystemExit(
            f"Another beat (pid {beat_lock_holder(path)}) holds {path}: not starting a second."
        )

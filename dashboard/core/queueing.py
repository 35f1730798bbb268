"""Handing work to Celery without making the web depend on the broker.

The database row is the source of truth (DESIGN.md): a service writes its row, then
asks for a task *after commit*. If the broker is unreachable at that moment the row
stays queued/pending, the page still answers (showing it pending), and the periodic
sweeper (``core.sweep``, every minute) sends it again once the broker is back.

Each app registers one sweeper (from its ``AppConfig.ready``) that finds its rows
still waiting after ``QUEUE_RESEND_AFTER_SECONDS`` and re-sends their tasks with
:func:`send_now`. Tasks must be idempotent: a re-sent message for work that already
ran (or is running) must change nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

# name -> function re-sending the work that is still waiting; each returns a count.
_SWEEPERS: dict[str, Callable[[], int]] = {}


def _resolve(task):
    """A task object, or the registered task of that name.

    Services enqueue their own app's tasks by name (``"events.dispatch"``): the task
    module imports its service, so the service naming the task object would make a
    cycle (STYLE.md: a task imports its service, never the other way round)."""
    if isinstance(task, str):
        if task not in current_app.tasks:
            # Outside a worker the apps' task modules load on first need.
            current_app.loader.import_default_modules()
        return current_app.tasks[task]
    return task


def send_now(task, *args, **options) -> bool:
    """Send ``task(*args)`` now; ``False`` (logged, not raised) when the broker refuses.

    ``task`` is a task or a registered task name.

    Publishing retries are bounded by ``task_publish_retry_policy`` (dashboard/celery.py),
    so a dead broker costs a request a couple of seconds, never a hang or a 500."""
    task = _resolve(task)
    try:
        if options:
            task.apply_async(args=args, **options)
        else:
            task.delay(*args)
    except Exception as exc:  # kombu/redis errors vary by transport
        # The row is still waiting in the database; the sweeper re-sends it.
        logger.warning("task_not_sent", extra={"task": task.name, "error": type(exc).__name__})
        return False
    return True


def enqueue_on_commit(task, *args, **options) -> None:
    """Send ``task(*args)`` once the current transaction commits; never raise."""
    transaction.on_commit(lambda: send_now(task, *args, **options))


def claim(queryset, **updates) -> bool:
    """Take the rows of ``queryset`` for this worker: one conditional UPDATE.

    ``queryset`` names the row(s) *and* the state they must still be in
    (``Job.objects.filter(pk=pk, state="queued")``); ``updates`` is what taking them
    writes (``state="running", attempts=F("attempts") + 1``). ``True`` when this caller
    took at least one row; ``False`` when another worker got there first or the row
    has moved on, in which case the caller must do nothing (healthchecks' pattern:
    the database, not the broker, decides who works on a row).
    """
    return queryset.update(**updates) > 0


def attempts_left(attempts: int, *, cap: int) -> bool:
    """Whether a work row that has been tried ``attempts`` times may be tried again.

    Every kind of work row has a cap (its ``MAX_ATTEMPTS``), so a row that fails in a
    way nobody foresaw is given up with a message instead of being re-queued forever.
    """
    return attempts < cap


def waiting_since() -> datetime:
    """Rows created (or last sent) before this moment have waited too long."""
    return timezone.now() - timedelta(seconds=settings.QUEUE_RESEND_AFTER_SECONDS)


def resend_batch() -> int:
    """How many waiting rows one sweeper sends per sweep (the rest go at the next)."""
    return settings.QUEUE_RESEND_BATCH


def register_sweeper(name: str) -> Callable[[Callable[[], int]], Callable[[], int]]:
    """Decorator: ``fn()`` re-sends this app's work that has waited too long and returns
    how many tasks it sent. Registering the same name again replaces the function."""

    def decorate(fn: Callable[[], int]) -> Callable[[], int]:
        _SWEEPERS[name] = fn
        return fn

    return decorate


def registered_sweepers() -> list[str]:
    return sorted(_SWEEPERS)


def sweep() -> dict[str, int]:
    """Run every registered sweeper; one failing does not stop the others (-1)."""
    counts: dict[str, int] = {}
    for name, fn in sorted(_SWEEPERS.items()):
        try:
            counts[name] = fn()
        except Exception:
            logger.exception("sweeper_failed", extra={"sweeper": name})
            counts[name] = -1
    return counts

"""Interactive work has its own queue and its own worker (#15 finding 5): a backlog on
the default queue (event dispatch, exports, syncs, alerts, sweeps) cannot hold up a
preview, a CQL run, an account check or a look-up.

The real-worker test runs on both stacks: the filesystem broker of ``make run`` by
default, and ``DATABASE_URL=postgres://… CELERY_BROKER_URL=redis://…``.
"""

from __future__ import annotations

import faulthandler
import threading

import pytest
from django.conf import settings
from django.urls import reverse

from dashboard.accounts.models import AccountCheck
from dashboard.celery import app
from dashboard.core.management.commands.run_console import console_processes
from dashboard.core.queueing import send_now
from tests.conftest import purge_queues, wait_for, worker_thread
from tests.previews.conftest import poll_until_done, preview_form

INTERACTIVE = {
    "previews.run_preview",
    "previews.run_evaluation",
    "accounts.run_check",
    "accounts.verify_credential",
    "profiles.lookup",
    "profiles.profile_work",
}
DEFAULT = {
    "events.dispatch",
    "events.replay",
    "profiles.export",
    "profiles.sync",
    "alerts.run",
    "alerts.deliver",
    "core.sweep",
    "calls.prune",
    "calls.partitions_ahead",
    "calls.fold_stragglers",
    "accounts.synthetic_checks",
    "accounts.revoke_expired_credentials",
}


def queue_of(task_name: str) -> str:
    return app.amqp.router.route({}, task_name, (), {})["queue"].name


def test_every_interactive_task_routes_to_the_interactive_queue():
    app.loader.import_default_modules()
    for name in INTERACTIVE:
        assert name in app.tasks, name  # a renamed task would silently lose its route
        assert queue_of(name) == "interactive", name


def test_background_work_routes_to_the_default_queue():
    app.loader.import_default_modules()
    for name in DEFAULT:
        assert name in app.tasks, name
        assert queue_of(name) == app.conf.task_default_queue, name
    # Every project task is one or the other, deliberately.
    project = {n for n in app.tasks if not n.startswith(("celery.", "tests."))}
    assert project == INTERACTIVE | DEFAULT


def queue_length(queue: str) -> int:
    from amqp.exceptions import ChannelError

    with app.connection_for_read() as conn:
        try:
            return conn.default_channel.queue_declare(queue=queue, passive=True).message_count
        except ChannelError:  # Redis keeps no empty queue
            return 0


def test_a_message_reaches_only_its_own_queue(db):
    # Both queues bound to one exchange under one key would get a copy of every
    # message, and every task would run twice.
    purge_queues()
    try:
        send_now("previews.run_preview", 0)
        assert (queue_length("interactive"), queue_length("celery")) == (1, 0)
        send_now("core.sweep")
        assert (queue_length("interactive"), queue_length("celery")) == (1, 1)
    finally:
        purge_queues()


def _queues_of(command: list[str]) -> str:
    return command[command.index("--queues") + 1]


def test_the_run_command_gives_the_interactive_queue_a_worker_of_its_own():
    processes = console_processes(host="127.0.0.1", port=8000)

    default, interactive = processes["worker"], processes["interactive"]
    assert _queues_of(default) == app.conf.task_default_queue
    assert _queues_of(interactive) == "interactive"
    # One beat, on the default worker; each worker its own node name and pool.
    assert "--beat" in default
    assert "--beat" not in interactive
    assert (
        default[default.index("--hostname") + 1] != interactive[interactive.index("--hostname") + 1]
    )


# --- a real backlog ---------------------------------------------------------------------
SLOW_SECONDS = 1.0
BACKLOG = 40  # 40 s of default-queue work: far longer than the waits below
finished_slow: list[int] = []
finished_lock = threading.Lock()


backlog_over = threading.Event()


@app.task(name="tests.slow_background_work")
def slow_background_work(number: int) -> None:
    """Stands for a dispatch, an export or a sync: background work that takes a while
    (until the test is over: what a worker still holds then ends at once, so stopping it
    never waits on the rest of the backlog)."""
    backlog_over.wait(SLOW_SECONDS)
    with finished_lock:
        finished_slow.append(number)


@pytest.mark.worker
def test_a_preview_and_a_check_run_while_a_backlog_holds_the_default_queue(
    transactional_db, demo_account, client_for, settings_override
):
    from tests.conftest import make_user

    croct = demo_account("croct", name="Croct shop")
    marketer = make_user("marketer", "backlog-marketer")
    admin = make_user("admin", "backlog-admin")
    purge_queues()
    finished_slow.clear()
    backlog_over.clear()
    for number in range(BACKLOG):
        slow_background_work.delay(number)
    processes = console_processes(host="127.0.0.1", port=8000)

    # The workers of ``make run``: the default queue's (one busy slot, so the backlog
    # is a real queue) and the interactive queue's, each consuming what run_console
    # tells it to.
    # Stopping one in-process worker asks every one to stop (Celery keeps that in a
    # module global): each gets time to notice and finish its current task.
    with (
        worker_thread(queues=[_queues_of(processes["worker"])], concurrency=1, shutdown_timeout=60),
        worker_thread(
            queues=[_queues_of(processes["interactive"])], concurrency=1, shutdown_timeout=60
        ),
    ):
        try:
            client = client_for(marketer)
            response = client.post(
                reverse("previews:submit"),
                preview_form(croct, slot_id="home-hero"),
                HTTP_HX_REQUEST="true",
            )
            assert response.status_code == 200
            from dashboard.previews.models import PreviewRequest

            preview = PreviewRequest.objects.get()
            # A generous bound, not a speed claim: the backlog alone takes 40 s.
            try:
                poll_until_done(client, reverse("previews:result", args=[preview.pk]), timeout=25)
            except AssertionError:
                # Where every thread is when the preview never finishes (an intermittent
                # failure not yet explained): shown with the test's captured stderr.
                faulthandler.dump_traceback(all_threads=True)
                raise
            preview.refresh_from_db()
            assert preview.status == "done"

            client_for(admin).post(
                reverse("accounts:test", args=[croct.pk]), HTTP_HX_REQUEST="true"
            )
            check = wait_for(
                lambda: AccountCheck.objects.filter(account=croct, status="ok").first(), timeout=25
            )
            assert check is not None
            # Both finished while the default queue still had most of its backlog: they
            # did not wait behind it.
            with finished_lock:
                assert len(finished_slow) < BACKLOG
        finally:
            # Over (passed or not): no more backlog for the workers to take, and what
            # they hold ends now, so stopping them never waits on the rest of it.
            purge_queues()
            backlog_over.set()
    purge_queues()


@pytest.fixture
def settings_override(settings):
    # The worker threads' connections must close after each task, or the test database
    # cannot be flushed or dropped (as tests/conftest.py's celery_worker does).
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0
    return settings


def test_a_worker_started_without_queues_consumes_both():
    # A deployment that runs plain ``celery worker`` strands nothing.
    assert set(app.amqp.queues) == {settings.CELERY_TASK_DEFAULT_QUEUE, "interactive"}

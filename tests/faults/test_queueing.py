"""enqueue_on_commit and the sweeper: a dead broker never fails the caller, the row
waits, and the sweeper sends it (to the right task) once it has waited long enough."""

from __future__ import annotations

import base64
import json
import logging
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from dashboard.accounts import rotation, scheduled_checks
from dashboard.accounts.models import AccountCheck
from dashboard.accounts.scheduled_checks import account_checks_resend_waiting
from dashboard.accounts.services import account_check_request
from dashboard.core import queueing
from dashboard.core.queueing import enqueue_on_commit, register_sweeper, sweep


def later(seconds: float | None = None):
    seconds = settings.QUEUE_RESEND_AFTER_SECONDS + 5 if seconds is None else seconds
    return time_machine.travel(timezone.now() + timedelta(seconds=seconds), tick=True)


class DeadBrokerTask:
    name = "tests.dead_broker"

    def __init__(self):
        self.calls = 0

    def delay(self, *args):
        self.calls += 1
        raise BrokerError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    apply_async = delay


def test_enqueue_on_commit_sends_nothing_before_commit_and_never_raises(
    db, django_capture_on_commit_callbacks, caplog
):
    task = DeadBrokerTask()
    caplog.set_level(logging.WARNING, logger="dashboard.core.queueing")

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        enqueue_on_commit(task, 42)
        assert task.calls == 0  # not before commit

    assert len(callbacks) == 1
    assert task.calls == 1
    record = next(r for r in caplog.records if r.getMessage() == "task_not_sent")
    assert (record.task, record.error) == ("tests.dead_broker", "OperationalError")


def test_a_rolled_back_transaction_sends_nothing(db, django_capture_on_commit_callbacks):
    task = DeadBrokerTask()

    def write_then_fail():
        with transaction.atomic():
            enqueue_on_commit(task, 1)
            raise RuntimeError

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        write_then_fail()
    assert callbacks == []
    assert task.calls == 0


def test_one_failing_sweeper_does_not_stop_the_others(monkeypatch):
    monkeypatch.setattr(queueing, "_SWEEPERS", {})

    @register_sweeper("b.broken")
    def broken():
        raise BrokerError("down")

    register_sweeper("a.fine")(lambda: 2)
    register_sweeper("c.fine")(lambda: 3)

    assert sweep() == {"a.fine": 2, "b.broken": -1, "c.fine": 3}


def test_the_accounts_sweeper_is_registered_at_startup_and_scheduled():
    from dashboard.celery import app

    assert "accounts.checks" in queueing.registered_sweepers()
    app.loader.import_default_modules()  # what a worker does at start (autodiscovery)
    assert "core.sweep" in app.tasks
    entry = settings.CELERY_BEAT_SCHEDULE["sweep-waiting-work"]
    assert entry["task"] == "core.sweep"
    assert settings.QUEUE_RESEND_AFTER_SECONDS > 0


@pytest.fixture
def sent(monkeypatch):
    """Tasks the accounts sweeper sends: (task name, args)."""
    seen: list[tuple[str, tuple]] = []

    def record(task, *args, **options):
        seen.append((task if isinstance(task, str) else task.name, args))
        return True

    monkeypatch.setattr(scheduled_checks, "send_now", record)
    return seen


def test_the_sweeper_resends_only_checks_pending_longer_than_the_delay_to_their_task(
    demo_account, sent, django_capture_on_commit_callbacks
):
    account = demo_account("croct")
    with django_capture_on_commit_callbacks(execute=False):  # the broker never got them
        plain = account_check_request(account=account)
        key = rotation.credential_add(
            account=account, secrets={"api_key": "c0ffee00-1234-4abc-8def-5ec7e7ca0042"}
        )
        verification = rotation.latest_verification(key)
        running = account_check_request(account=account)
        finished = account_check_request(account=account)
    AccountCheck.objects.filter(pk=running.pk).update(status="running")
    AccountCheck.objects.filter(pk=finished.pk).update(status="ok", finished_at=timezone.now())

    assert account_checks_resend_waiting() == 0  # not waited long enough yet
    assert sent == []

    with later():
        assert account_checks_resend_waiting() == 2
    assert sorted(sent) == [
        ("accounts.run_check", (plain.pk,)),
        ("accounts.verify_credential", (verification.pk,)),
    ]


def test_a_check_of_the_restored_key_after_a_rollback_goes_to_the_plain_check_task(
    demo_account, sent, django_capture_on_commit_callbacks
):
    account = demo_account("croct")
    key = rotation.credential_add(
        account=account, secrets={"api_key": "c0ffee00-1234-4abc-8def-5ec7e7ca0042"}, enqueue=False
    )
    assert rotation.credential_verify_run(check_id=rotation.latest_verification(key).pk).state == (
        "active"
    )
    with django_capture_on_commit_callbacks(execute=False):
        restored = rotation.credential_rollback(account=account)
    check = AccountCheck.objects.filter(credential=restored, status="pending").get()

    with later():
        account_checks_resend_waiting()

    assert sent == [("accounts.run_check", (check.pk,))]


def test_a_dead_broker_during_the_sweep_is_counted_as_not_sent_and_retried_next_time(
    demo_account, monkeypatch, django_capture_on_commit_callbacks
):
    from dashboard.accounts import tasks

    account = demo_account("croct")
    with django_capture_on_commit_callbacks(execute=False):
        check = account_check_request(account=account)
    dead = DeadBrokerTask()
    monkeypatch.setattr(tasks.run_account_check, "delay", dead.delay)

    with later():
        assert sweep()["accounts.checks"] == 0
    assert dead.calls == 1
    check.refresh_from_db()
    assert check.status == "pending"


@pytest.mark.worker
def test_enqueue_with_the_real_broker_down_keeps_the_row_and_the_sweeper_sends_it_later(
    redis_broker, transactional_db, demo_account
):
    account = demo_account("croct")
    redis_broker.kill()

    with transaction.atomic():
        check = account_check_request(account=account)
    # The commit ran the send, which failed quietly: the row waits.
    check.refresh_from_db()
    assert check.status == "pending"

    redis_broker.start()
    with later():
        assert sweep()["accounts.checks"] == 1
    # A check is interactive work: its own queue (#15 finding 5).
    assert redis_broker.queue_length("interactive") == 1
    message = json.loads(redis_broker.client().lindex("interactive", 0))
    assert message["headers"]["task"] == "accounts.run_check"
    args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
    assert args == [check.pk]

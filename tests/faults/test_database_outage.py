"""The database is briefly unreachable during a task: the task retries and no
half-written outcome remains (the check and the account's health always agree)."""

from __future__ import annotations

import pytest
from celery.signals import task_retry
from django.db import OperationalError, connection
from django.urls import reverse

from dashboard.accounts import services
from dashboard.accounts.models import AccountCheck, ConnectedAccount
from dashboard.accounts.services import account_check_request, account_check_run
from dashboard.calls.models import ApiCall
from tests.conftest import flush_call_log, purge_queues, wait_for, worker_thread


def lose_the_database() -> None:
    """The database connection dies under the code that is using it.

    On PostgreSQL for real: the server terminates this connection's backend (what a
    failover or a restart does), aborting its open transaction. SQLite has no server
    to lose, so there the error the driver would raise is raised in its place."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        raise AssertionError("the terminated backend still answered")
    driver_error()


def driver_error() -> None:
    raise OperationalError("server closed the connection unexpectedly (injected)")


def fail_once_after_recording_health(monkeypatch, fault) -> list[int]:
    """The first time a check records the account's health, ``fault`` strikes right
    after that write (the check row was written just before it, in the same
    transaction). Returns the list of attempts."""
    attempts: list[int] = []
    record_health = services._record_health

    def flaky(account_id, **kwargs):
        record_health(account_id, **kwargs)
        attempts.append(account_id)
        if len(attempts) == 1:
            fault()

    monkeypatch.setattr(services, "_record_health", flaky)
    return attempts


@pytest.fixture
def outage_after_partial_write(monkeypatch):
    return fail_once_after_recording_health(monkeypatch, lose_the_database)


def test_an_outage_while_recording_the_outcome_leaves_the_check_running_and_health_untouched(
    demo_account, monkeypatch
):
    # In the test's own transaction the driver's error is raised in place of a real
    # outage (which would end that transaction); the worker test below stages a real one.
    fail_once_after_recording_health(monkeypatch, driver_error)
    account = demo_account("croct")
    check = account_check_request(account=account)

    with pytest.raises(OperationalError):
        account_check_run(check_id=check.pk)

    # Nothing of the outcome was kept: the check is still running, the account as it was.
    check.refresh_from_db()
    account.refresh_from_db()
    assert (check.status, check.finished_at, check.latency_ms) == ("running", None, None)
    assert (account.health, account.last_checked_at) == ("unknown", None)
    # A second message for the same check (the sweeper's) leaves a running check alone.
    assert account_check_run(check_id=check.pk).status == "running"
    flush_call_log()
    assert ApiCall.objects.count() == 1
    # The retry of the interrupted attempt finishes it, all at once.
    assert account_check_run(check_id=check.pk, resume=True).status == "ok"
    check.refresh_from_db()
    account.refresh_from_db()
    assert check.status == "ok"
    assert (account.health, account.last_checked_at) == ("healthy", check.finished_at)


@pytest.fixture
def one_thread_worker(transactional_db, settings):
    """A real worker with one thread. Celery publishes the retry's message before it
    sends ``task_retry``: with a second thread free, the retry (its countdown may be 0
    with jitter) could finish the check before the failed attempt's signal is observed,
    and the test would see the outcome instead of the state between the attempts. One
    thread runs the retry only after the failed attempt, signal included, is over."""
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0
    purge_queues()
    with worker_thread(concurrency=1) as worker:
        yield worker


@pytest.mark.worker
def test_the_check_task_retries_after_the_database_goes_away_mid_task(
    one_thread_worker, demo_account, admin, client_for, outage_after_partial_write
):
    account = demo_account("croct")
    between_attempts: list[tuple] = []

    def observe(sender=None, request=None, reason=None, **kwargs):
        # What another reader sees after the failed attempt and before the retry.
        try:
            check = AccountCheck.objects.get(pk=request.args[0])
            health = ConnectedAccount.objects.values_list("health", "last_checked_at").get(
                pk=check.account_id
            )
        except Exception as error:  # celery would log and swallow it: keep it to assert on
            between_attempts.append(("observer failed", repr(error)))
            return
        cause = getattr(reason, "exc", reason)  # celery's Retry carries the error
        between_attempts.append((type(cause).__name__, check.status, check.finished_at, *health))

    task_retry.connect(observe, weak=False)
    try:
        client = client_for(admin)
        response = client.post(reverse("accounts:test", args=[account.pk]), HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        check = AccountCheck.objects.get(account=account)
        wait_for(lambda: AccountCheck.objects.get(pk=check.pk).is_done, timeout=30)
    finally:
        task_retry.disconnect(observe)

    # One failed attempt, retried once; in between, no half-written outcome.
    assert len(outage_after_partial_write) == 2
    assert len(between_attempts) == 1, between_attempts
    error, status, finished_at, health, last_checked_at = between_attempts[0]
    assert error in ("OperationalError", "InterfaceError")
    assert (status, finished_at, health, last_checked_at) == ("running", None, "unknown", None)
    # The retry finished it: the check and the account's health agree.
    check.refresh_from_db()
    account.refresh_from_db()
    assert check.status == "ok"
    assert account.health == "healthy"
    assert account.last_checked_at == check.finished_at
    # The provider was asked twice (verify changes nothing there); both calls recorded.
    # The check is marked done inside the task, before the task's own flush of the
    # call log after it returns: wait for the rows rather than race that flush.
    flush_call_log()
    assert ApiCall.objects.filter(account=account).count() == 2
    done = client.get(
        reverse("accounts:check", args=[account.pk, check.pk]), HTTP_HX_REQUEST="true"
    )
    assert done.status_code == 286
    assert 'data-status="ok"' in done.content.decode()


def poll_url(account, check) -> str:
    return reverse("accounts:check", args=[account.pk, check.pk])

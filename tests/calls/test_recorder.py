"""The background call-log writer (the default outside tests): every exchange is
written, in batches, and a unit of work ends with its rows on disk."""

from __future__ import annotations

import threading

import pytest
from django.db import OperationalError
from django.utils import timezone

from dashboard.accounts.models import AccountCheck
from dashboard.accounts.services import account_check_request, provider_client
from dashboard.calls import recorder, services
from dashboard.calls.models import ApiCall
from dashboard.calls.recorder import BackgroundCallWriter
from tests.conftest import wait_for

CLIENT_ID = "6a1b3c5d-0000-4000-8000-000000000001"


@pytest.fixture
def background(settings, monkeypatch):
    """Recording through a fresh background writer (module-wide, as in production)."""
    settings.CALL_LOG_WRITER = "background"
    # Connections the writer thread opens must close so the test database can go.
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0
    writer = BackgroundCallWriter()
    monkeypatch.setattr(recorder, "writer", writer)
    monkeypatch.setattr(services, "writer", writer)
    yield writer
    writer.stop()


@pytest.fixture
def writes(monkeypatch):
    """Every batch the recording path inserts, as a list of row counts."""
    sizes: list[int] = []
    real = services.calls_write

    def spy(calls):
        sizes.append(len(calls))
        return real(calls)

    monkeypatch.setattr(services, "calls_write", spy)
    return sizes


def test_every_call_from_several_threads_is_written_in_batches(
    transactional_db, sandbox, demo_account, background, writes
):
    account = demo_account("croct")
    client = provider_client(account)

    def fetch(count):
        for _ in range(count):
            client.evaluate("true", client_id=CLIENT_ID)

    threads = [threading.Thread(target=fetch, args=(40,)) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert background.flush(timeout=15)
    assert ApiCall.objects.filter(account=account, operation="croct.evaluate").count() == 120
    assert sum(writes) == 120
    # Lingering makes calls share inserts: far fewer statements than rows.
    assert len(writes) < 60
    assert background.dropped == 0


def test_a_flush_wakes_a_lingering_writer(transactional_db, sandbox, demo_account, background):
    background.linger_seconds = 30
    account = demo_account("croct")
    provider_client(account).evaluate("true", client_id=CLIENT_ID)

    assert background.flush(timeout=5)
    assert ApiCall.objects.filter(account=account).count() == 1


def test_a_failed_insert_is_retried(
    transactional_db, sandbox, demo_account, background, monkeypatch
):
    real = services.calls_write
    failures = iter([OperationalError("server closed the connection unexpectedly")])

    def flaky(calls):
        for error in failures:
            raise error
        return real(calls)

    monkeypatch.setattr(services, "calls_write", flaky)
    account = demo_account("croct")
    provider_client(account).evaluate("true", client_id=CLIENT_ID)

    assert background.flush(timeout=10)
    assert ApiCall.objects.filter(account=account).count() == 1
    assert background.dropped == 0


def _row(operation: str, account_id: int | None = None) -> ApiCall:
    return ApiCall(
        account_id=account_id,
        provider="croct",
        operation=operation,
        method="GET",
        url="http://127.0.0.1:9/x",
        started_at=timezone.now(),
        duration_ms=1,
        outcome="ok",
    )


def test_a_row_whose_account_never_committed_does_not_sink_the_batch(
    transactional_db, sandbox, demo_account, background
):
    account = demo_account("croct")
    background.linger_seconds = 30  # both rows go in one batch
    background.submit(_row("good", account.pk))
    background.submit(_row("stray", account.pk + 1000))

    assert background.flush(timeout=10)
    assert ApiCall.objects.get(operation="good").account_id == account.pk
    # Kept, without the account it could not point at.
    assert ApiCall.objects.get(operation="stray").account_id is None


def test_a_full_queue_makes_the_caller_write_its_own_row(transactional_db, background, monkeypatch):
    entered, gate = threading.Event(), threading.Event()
    real = services.calls_write

    def stuck_in_the_writer(calls):
        if threading.current_thread().name == "call-log-writer":
            entered.set()
            gate.wait(10)
        return real(calls)

    monkeypatch.setattr(services, "calls_write", stuck_in_the_writer)
    background.max_queue = 1
    background.linger_seconds = 0
    try:
        background.submit(_row("op0"))
        assert entered.wait(5)
        for i in range(1, 5):
            background.submit(_row(f"op{i}"))
        # op0 is with the stuck writer and op1 fills the queue: the caller wrote the rest.
        assert sorted(ApiCall.objects.values_list("operation", flat=True)) == [
            "op2",
            "op3",
            "op4",
        ]
    finally:
        gate.set()
    assert background.flush(timeout=10)
    assert ApiCall.objects.count() == 5


@pytest.mark.worker
def test_a_task_ends_with_its_call_rows_written(celery_worker, demo_account, background):
    # With a writer that would linger for half a minute, the row can only be there
    # quickly because the task's end flushed it.
    background.linger_seconds = 30
    account = demo_account("croct")
    check = account_check_request(account=account)

    wait_for(lambda: AccountCheck.objects.get(pk=check.pk).is_done)
    wait_for(lambda: ApiCall.objects.filter(account=account).exists(), timeout=5)


def test_a_finished_web_request_flushes_the_rows_it_caused(
    transactional_db, sandbox, demo_account, background
):
    from django.core.signals import request_finished

    background.linger_seconds = 30
    account = demo_account("croct")
    provider_client(account).evaluate("true", client_id=CLIENT_ID)

    request_finished.send(sender=None)
    assert ApiCall.objects.filter(account=account).count() == 1

"""One bad row never costs the call log a batch (#15 item 4): NUL characters in any
text column (subject ids included) and a row the database refuses are written with
their texts cleaned, and every other row of the batch is written too."""

from __future__ import annotations

import pytest
from django.utils import timezone

from dashboard.calls import recorder, services
from dashboard.calls.models import ApiCall
from dashboard.calls.recorder import BackgroundCallWriter
from tests.conftest import flush_call_log


@pytest.fixture
def background(settings, monkeypatch):
    settings.CALL_LOG_WRITER = "background"
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 0
    writer = BackgroundCallWriter(linger_seconds=0.5)
    monkeypatch.setattr(recorder, "writer", writer)
    monkeypatch.setattr(services, "writer", writer)
    yield writer
    writer.stop()


def _row(i: int) -> ApiCall:
    nul = "\x00" if i % 4 == 0 else ""
    return ApiCall(
        provider="octy",
        operation=f"octy.profiles{nul}",
        method="GET",
        url=f"https://api.octy.example/v1/profiles?id=a{nul}b",
        request_headers={f"X-Key{nul}": f"v{nul}"},
        request_body=f"body{nul}",
        response_headers={},
        response_body=f'{{"name": "x{nul}"}}',
        started_at=timezone.now(),
        duration_ms=1.0,
        outcome="ok",
        problem={"detail": [f"d{nul}"]} if nul else None,
        correlation_id=f"corr{nul}{i}",
        subject_type=f"lookup{nul}",
        # A subject id too long for its column: PostgreSQL refuses the whole insert.
        subject_id=("p" * 80) if i == 37 else f"profile-{nul}{i}",
        task_id=f"task{nul}",
    )


def test_the_writer_writes_all_75_rows_when_some_carry_nul_or_do_not_fit(
    transactional_db, background
):
    for i in range(75):
        background.submit(_row(i))

    assert background.flush(timeout=30)
    assert background.dropped == 0
    rows = list(ApiCall.objects.all())
    assert len(rows) == 75
    for row in rows:
        texts = [
            row.operation,
            row.url,
            row.request_body,
            row.response_body,
            row.correlation_id,
            row.subject_type,
            row.subject_id,
            row.task_id,
            str(row.request_headers),
            str(row.problem),
        ]
        assert not any("\x00" in text for text in texts), row.pk
    assert ApiCall.objects.filter(subject_id="profile-\ufffd0").exists()


def test_an_exchange_with_nul_in_its_subject_ids_is_recorded_cleaned(db):
    from dashboard.calls.context import call_context
    from integrations.http import Exchange

    exchange = Exchange(
        provider="croct",
        operation="croct.evaluate",
        method="POST",
        url="https://api.croct.example/x",
        request_headers={},
        request_body="",
        request_bytes=0,
        status=200,
        response_headers={},
        response_body="",
        response_bytes=0,
        started_at=timezone.now(),
        duration_ms=1.0,
    )
    with call_context(correlation_id="c\x00", subject_type="lookup\x00", subject_id="p\x00"):
        call = services.record_exchange(exchange, account_id=None)

    flush_call_log()
    call.refresh_from_db()
    assert (call.correlation_id, call.subject_type, call.subject_id) == (
        "c\ufffd",
        "lookup\ufffd",
        "p\ufffd",
    )


def test_inside_a_test_transaction_the_same_salvage_runs_on_the_caller_s_connection(
    db, call_log_writer
):
    # The writer a `db` test gets (tests/conftest.py): no thread, but the same batches,
    # retries and salvage, each batch under a savepoint of the test's transaction.
    assert call_log_writer.on_caller_thread
    for i in range(75):
        call_log_writer.submit(_row(i))
    assert not ApiCall.objects.exists()  # queued, not written on submit

    flush_call_log()

    assert call_log_writer.dropped == 0
    assert ApiCall.objects.count() == 75  # the transaction is still usable
    assert ApiCall.objects.filter(subject_id="profile-\ufffd0").exists()

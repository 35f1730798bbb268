"""Croct exports into JSON Lines: paging, types, resume, incremental, admin-only file."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from dashboard.profiles import exports
from dashboard.profiles.jobs import JobInputError
from dashboard.profiles.models import ExportJob
from integrations.sandbox import Fault
from tests.conftest import wait_for
from tests.profiles.conftest import tolerant

DAY = 86_400_000


@pytest.fixture
def croct(demo_account, sandbox, settings, tmp_path):
    settings.PROFILES_EXPORT_DIR = tmp_path / "exports"
    settings.PROFILES_EXPORT_PAGE_SIZE = 200
    return demo_account("croct")


def _window(sandbox):
    data = sandbox["croct"].app.export
    return data.t0, data.t0 + 30 * DAY


def _lines(job):
    return [json.loads(line) for line in exports.export_path(job).read_text().splitlines()]


@pytest.mark.django_db(transaction=True)
def test_worker_exports_every_event_of_the_window_to_json_lines(
    celery_worker, croct, sandbox, settings
):
    settings.PROFILES_JOB_SLICE_SECONDS = 0
    start, end = _window(sandbox)
    job = exports.export_start(account=croct, kind="events", start_ms=start, end_ms=end)

    wait_for(tolerant(lambda: ExportJob.objects.get(pk=job.pk).is_done), timeout=90)

    job.refresh_from_db()
    items = _lines(job)
    assert job.status == "done"
    assert job.items_written == 5000 == len(items)
    assert len({i["id"] for i in items}) == 5000
    assert job.pages_done == 25
    assert job.percent == 100


@pytest.mark.django_db
def test_event_types_filter_the_export(croct, sandbox):
    start, end = _window(sandbox)
    job = exports.export_start(
        account=croct, kind="events", start_ms=start, end_ms=end, event_types=["orderPlaced"]
    )
    job = exports.export_run(job_id=job.pk)
    items = _lines(job)
    assert job.status == "done"
    assert items
    assert {i["payload"]["type"] for i in items} == {"orderPlaced"}


@pytest.mark.django_db
def test_a_failed_export_resumes_from_its_cursor_without_duplicates(croct, sandbox, monkeypatch):
    start, end = _window(sandbox)
    job = exports.export_start(account=croct, kind="events", start_ms=start, end_ms=end)
    real_page = exports._export_page
    calls = []

    def page_then_break(client, running, cursor):
        calls.append(cursor)
        if len(calls) == 4:
            sandbox["croct"].app.faults.add(Fault(kind="status", status=503))
        return real_page(client, running, cursor)

    monkeypatch.setattr(exports, "_export_page", page_then_break)
    job = exports.export_run(job_id=job.pk)
    assert job.status == "failed"
    assert job.items_written == 600
    saved_cursor = job.cursor

    sandbox["croct"].app.faults.clear()
    exports.export_resume(job=job)
    job = exports.export_run(job_id=job.pk)

    items = _lines(job)
    assert job.status == "done"
    assert len(items) == 5000
    assert len({i["id"] for i in items}) == 5000
    assert calls[4] == saved_cursor


@pytest.mark.django_db
def test_incremental_export_continues_where_the_last_one_stopped(croct, sandbox):
    start, end = _window(sandbox)
    first = exports.export_run(
        job_id=exports.export_start(
            account=croct, kind="users", start_ms=start, end_ms=start + 10 * DAY
        ).pk
    )
    assert first.status == "done"
    second = exports.export_start(
        account=croct, kind="users", start_ms=None, end_ms=end, incremental=True
    )
    assert second.start_ms == first.end_ms
    with pytest.raises(JobInputError):
        exports.export_start(
            account=croct, kind="sessions", start_ms=None, end_ms=end, incremental=True
        )


@pytest.mark.django_db
def test_only_admins_download_and_the_download_is_logged(
    croct, sandbox, admin, support, client_for
):
    from dashboard.profiles.models import ProfileAccess

    start, end = _window(sandbox)
    job = exports.export_run(
        job_id=exports.export_start(account=croct, kind="sessions", start_ms=start, end_ms=end).pk
    )
    url = reverse("profiles:export_download", args=[job.pk])

    assert client_for(support).get(url).status_code == 403
    response = client_for(admin).get(url)
    body = b"".join(response.streaming_content)
    assert response.status_code == 200
    assert len(body.splitlines()) == job.items_written > 0
    assert ProfileAccess.objects.filter(user=admin, action="download").exists()


@pytest.mark.django_db
def test_export_form_starts_a_job(croct, admin, client_for):
    response = client_for(admin).post(
        reverse("profiles:exports"),
        {
            "account": croct.pk,
            "kind": "events",
            "event_types": "pageOpened, nope",
            "start": "2026-01-01 00:00",
            "end": "2026-01-02 00:00",
        },
    )
    assert response.status_code == 422
    assert "unknown event types: nope" in response.content.decode()
    response = client_for(admin).post(
        reverse("profiles:exports"),
        {
            "account": croct.pk,
            "kind": "events",
            "start": "2026-01-01 00:00",
            "end": "2026-01-02 00:00",
        },
    )
    assert response.status_code == 302
    assert ExportJob.objects.get().start_ms == 1767225600000

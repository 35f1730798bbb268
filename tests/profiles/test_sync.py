"""Syncing an account into the cache: paging quirks, faults, resume, cancel, pacing."""

from __future__ import annotations

import pytest

from dashboard.calls.models import ApiCall
from dashboard.profiles import sync
from dashboard.profiles.jobs import JobInputError
from dashboard.profiles.models import CachedProfile, SyncJob
from dashboard.profiles.ratelimit import TokenBucket
from integrations.sandbox import Fault
from tests.conftest import flush_call_log, wait_for
from tests.profiles.conftest import tolerant


@pytest.fixture
def small_octy(octy_sandbox, settings):
    """450 Octy profiles in pages of 100, no sandbox rate limit, no pacing."""
    octy_sandbox.profile_count = 450
    octy_sandbox.rate_limit = None
    octy_sandbox.page_size = 100
    octy_sandbox.reset()
    settings.PROFILES_RATE_LIMITS = {}
    return octy_sandbox


def _page_cursors(account):
    flush_call_log()
    calls = ApiCall.objects.filter(account=account, operation="octy.profiles.page")
    return [c.request_headers.get("cursor") for c in calls.order_by("id")]


@pytest.mark.django_db(transaction=True)
def test_worker_syncs_every_octy_profile_to_the_end_of_data_400(
    celery_worker, small_octy, demo_account, settings
):
    settings.PROFILES_JOB_SLICE_SECONDS = 0  # one page per slice: slices chain on
    octy = demo_account("octy")
    job = sync.sync_start(account=octy)

    wait_for(tolerant(lambda: SyncJob.objects.get(pk=job.pk).is_done), timeout=60)

    job.refresh_from_db()
    assert job.status == "done"
    assert job.profiles_synced == 450
    assert job.pages_done == 5
    assert CachedProfile.objects.filter(account=octy).count() == 450
    # The last call is the exhausted cursor, answered 400 and taken as the end. The job
    # is done before its task's post-run flush of the call log: wait for the rows.
    flush_call_log()
    last = ApiCall.objects.filter(account=octy).order_by("-id").first()
    assert last.status == 400
    assert last.request_headers["cursor"] == "450"
    assert CachedProfile.objects.get(account=octy, customer_id="cust-00001").name == "Ada Lovelace"


@pytest.mark.django_db
def test_a_failed_sync_resumes_from_its_last_cursor(small_octy, demo_account, monkeypatch):
    octy = demo_account("octy")
    job = sync.sync_start(account=octy)
    real_page = sync._sync_page
    pages = []

    def page_then_break(client, adapter, job):
        pages.append(job.cursor)
        if len(pages) == 3:
            small_octy.faults.add(Fault(kind="status", status=500))
        return real_page(client, adapter, job)

    monkeypatch.setattr(sync, "_sync_page", page_then_break)
    job = sync.sync_run(job_id=job.pk)

    assert job.status == "failed"
    assert job.problem["kind"] == "unavailable"
    assert job.cursor == "200"
    assert job.profiles_synced == 200

    small_octy.faults.clear()
    sync.sync_resume(job=job)
    job = sync.sync_run(job_id=job.pk)

    assert job.status == "done"
    assert job.profiles_synced == 450
    assert CachedProfile.objects.filter(account=octy).count() == 450
    # Resumed at 200: no page was fetched twice after the failure.
    assert _page_cursors(octy) == ["0", "100", "200", "200", "300", "400", "450"]


@pytest.mark.django_db
def test_cancel_stops_before_the_next_page(small_octy, demo_account, monkeypatch):
    octy = demo_account("octy")
    job = sync.sync_start(account=octy)
    real_page = sync._sync_page

    def page_then_cancel(client, adapter, running):
        result = real_page(client, adapter, running)
        sync.sync_cancel(job=SyncJob.objects.get(pk=running.pk))
        return result

    monkeypatch.setattr(sync, "_sync_page", page_then_cancel)
    job = sync.sync_run(job_id=job.pk)

    assert job.status == "cancelled"
    assert job.profiles_synced == 100
    assert job.cursor == "100"
    assert sync.sync_resume(job=job).status == "pending"


@pytest.mark.django_db
def test_a_429_is_waited_out_for_its_retry_after(small_octy, demo_account):
    small_octy.faults.add(Fault(kind="rate_limit", count=2, retry_after=0.1))
    octy = demo_account("octy")
    job = sync.sync_run(job_id=sync.sync_start(account=octy).pk)

    assert job.status == "done"
    assert job.profiles_synced == 450
    assert job.rate_limited_waits == 2


@pytest.mark.django_db
def test_requests_are_paced_at_the_configured_rate(small_octy, demo_account, settings):
    settings.PROFILES_RATE_LIMITS = {"octy": 600}  # one request per 100 ms
    settings.PROFILES_RATE_BURST = 1
    octy = demo_account("octy")
    job = sync.sync_run(job_id=sync.sync_start(account=octy).pk)

    assert job.status == "done"
    flush_call_log()
    starts = list(
        ApiCall.objects.filter(account=octy).order_by("id").values_list("started_at", flat=True)
    )
    gaps = [(b - a).total_seconds() for a, b in zip(starts, starts[1:], strict=False)]
    assert len(starts) == 6
    assert min(gaps) >= 0.09, gaps


def test_token_bucket_allows_a_burst_then_spaces_calls_at_the_rate():
    now = [0.0]
    slept = []

    def sleep(seconds):
        slept.append(round(seconds, 3))
        now[0] += seconds

    bucket = TokenBucket(120, burst=3, clock=lambda: now[0], sleep=sleep)
    for _ in range(6):
        bucket.acquire()

    assert slept == [0.5, 0.5, 0.5]  # 120/minute: one every half second after the burst
    assert now[0] == pytest.approx(1.5)


@pytest.mark.django_db
def test_sync_against_the_real_octy_limit_never_meets_a_429(octy_sandbox, demo_account, settings):
    """The sandbox's own 120/minute limiter, tightened: 8 per minute with a burst of 4
    from our side stays under it for the first pages without any 429."""
    octy_sandbox.profile_count = 300
    octy_sandbox.rate_limit = 4
    octy_sandbox.reset()
    settings.PROFILES_RATE_LIMITS = {"octy": 4}
    settings.PROFILES_RATE_BURST = 4
    octy = demo_account("octy")
    job = sync.sync_run(job_id=sync.sync_start(account=octy).pk)

    assert job.status == "done"
    assert job.profiles_synced == 300
    assert job.rate_limited_waits == 0
    assert not ApiCall.objects.filter(account=octy, status=429).exists()


@pytest.mark.django_db(transaction=True)
def test_worker_syncs_altcraft_with_from_id(celery_worker, demo_account, sandbox, settings):
    settings.PROFILES_SYNC_PAGE_SIZE = 1000
    altcraft = demo_account("altcraft")
    job = sync.sync_start(account=altcraft)

    wait_for(tolerant(lambda: SyncJob.objects.get(pk=job.pk).is_done), timeout=60)

    job.refresh_from_db()
    assert job.status == "done"
    assert job.profiles_synced == 3000
    assert job.pages_done == 3
    assert CachedProfile.objects.filter(account=altcraft).count() == 3000


@pytest.mark.django_db
def test_filters_are_checked_and_sent(small_octy, demo_account):
    octy = demo_account("octy")
    with pytest.raises(JobInputError):
        sync.sync_start(account=octy, filters={"churn_prob": "extreme"})
    job = sync.sync_run(job_id=sync.sync_start(account=octy, filters={"churn_prob": "low"}).pk)
    assert job.status == "done"
    assert 0 < job.profiles_synced < 450
    statuses = {p.data["attributes"]["churn_prob"] for p in CachedProfile.objects.all()}
    assert statuses == {"low"}

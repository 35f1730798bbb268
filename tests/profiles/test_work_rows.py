"""Profiles work rows: re-queued by the one core sweeper, given up after their attempt
cap, and a provider's refusal told apart from a bug."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dashboard.core import queueing
from dashboard.profiles import services, sync
from dashboard.profiles.jobs import JOB_MAX_ATTEMPTS
from dashboard.profiles.models import LookupRequest, LookupResult, SyncJob
from dashboard.profiles.services import LOOKUP_MAX_ATTEMPTS
from integrations.errors import PayloadError

pytestmark = pytest.mark.django_db


def test_core_sweep_requeues_stalled_profiles_work(demo_account, settings):
    settings.PROFILES_STALLED_AFTER_SECONDS = 60
    octy = demo_account("octy")
    old = timezone.now() - timedelta(minutes=30)
    job = SyncJob.objects.create(account=octy, status="running")
    SyncJob.objects.filter(pk=job.pk).update(updated_at=old)
    fresh = SyncJob.objects.create(account=octy, status="running")
    lookup = LookupRequest.objects.create(query="cust-00001", kind="octy_id")
    LookupRequest.objects.filter(pk=lookup.pk).update(created_at=old)
    result = LookupResult.objects.create(request=lookup, account=octy, status="running")

    assert "profiles.stalled" in queueing.registered_sweepers()
    counts = queueing.sweep()

    assert counts["profiles.stalled"] == 2
    assert SyncJob.objects.get(pk=job.pk).status == "pending"
    assert SyncJob.objects.get(pk=fresh.pk).status == "running"  # its worker is alive
    assert LookupResult.objects.get(pk=result.pk).status == "pending"


def test_a_sync_slice_claimed_too_often_is_given_up(demo_account):
    octy = demo_account("octy")
    job = SyncJob.objects.create(account=octy, status="pending", attempts=JOB_MAX_ATTEMPTS)

    job = sync.sync_run(job_id=job.pk)

    assert job.status == "failed"
    assert "Gave up after" in job.problem["detail"]
    assert job.profiles_synced == 0
    # Resuming starts a fresh count of attempts.
    assert sync.sync_resume(job=job).attempts == 0


def test_a_lookup_claimed_too_often_is_given_up(demo_account):
    octy = demo_account("octy")
    lookup = LookupRequest.objects.create(query="cust-00001", kind="octy_id")
    result = LookupResult.objects.create(request=lookup, account=octy, attempts=LOOKUP_MAX_ATTEMPTS)

    result = services.lookup_result_run(result_id=result.pk)

    assert result.status == "failed"
    assert "Gave up after" in result.problem["detail"]


def test_a_claimed_lookup_is_not_run_twice(demo_account):
    octy = demo_account("octy")
    lookup = LookupRequest.objects.create(query="cust-00001", kind="octy_id")
    result = LookupResult.objects.create(request=lookup, account=octy, status="running")

    again = services.lookup_result_run(result_id=result.pk)

    assert again.status == "running"
    assert again.attempts == 0


def test_an_id_the_provider_refuses_names_no_profile(demo_account, monkeypatch):
    octy = demo_account("octy")
    adapter = type(octy.provider_class.profiles)

    def refuse(self, client, profile_id):
        raise PayloadError("ids[0]", "must not contain ','")

    monkeypatch.setattr(adapter, "fetch", refuse)
    assert services.profile_fetch(account=octy, profile_id="a,b") is None


def test_a_bug_is_not_taken_for_a_missing_profile(demo_account, monkeypatch):
    octy = demo_account("octy")
    adapter = type(octy.provider_class.profiles)

    def broken(self, client, profile_id):
        raise ValueError("a bug, not an answer")

    monkeypatch.setattr(adapter, "fetch", broken)
    with pytest.raises(ValueError, match="a bug"):
        services.profile_fetch(account=octy, profile_id="cust-00001")


def test_a_profile_work_row_claimed_too_often_is_given_up(demo_account):
    from dashboard.profiles.models import ProfileWork
    from dashboard.profiles.work import PROFILE_WORK_MAX_ATTEMPTS, profile_work_run

    octy = demo_account("octy")
    row = ProfileWork.objects.create(
        kind="fetch", account=octy, profile_id="p-1", attempts=PROFILE_WORK_MAX_ATTEMPTS
    )

    row = profile_work_run(work_id=row.pk)

    assert row.status == "failed"
    assert "Gave up after" in row.problem["detail"]
    # A second message for the same row finds nothing to claim.
    assert profile_work_run(work_id=row.pk).attempts == row.attempts


@pytest.mark.django_db(transaction=True)
def test_the_real_worker_brings_an_uncached_profile_to_the_page(
    celery_worker, demo_account, support, client_for
):
    from django.urls import reverse

    from dashboard.accounts.services import provider_client
    from tests.conftest import wait_for
    from tests.profiles.conftest import poll_url, tolerant

    octy = demo_account("octy")
    ada = provider_client(octy).get_profiles(["cust-00001"])[0].profile_id
    client = client_for(support)

    page = client.get(reverse("profiles:profile", args=[octy.pk, ada])).content.decode()
    assert 'data-testid="arriving"' in page
    url = poll_url(page)

    def arrived():
        answer = client.get(url, headers={"HX-Request": "true"})
        return answer.content.decode() if answer.status_code == 286 else None

    body = wait_for(tolerant(arrived), timeout=30)
    assert "Ada Lovelace" in body
    assert 'data-arriving="false"' in body

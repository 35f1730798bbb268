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

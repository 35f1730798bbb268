"""Browsing an account page by page, live from the provider, and starting a sync."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dashboard.profiles.models import CachedProfile, SyncJob
from tests.profiles.conftest import arrived

pytestmark = pytest.mark.django_db


def test_octy_pages_follow_the_header_cursor_and_fill_the_cache(
    octy_sandbox, demo_account, support, client_for
):
    octy_sandbox.profile_count = 150
    octy_sandbox.reset()
    octy = demo_account("octy")
    client = client_for(support)
    url = reverse("profiles:browse", args=[octy.pk])

    first = arrived(client, client.get(url))
    assert "Ada Lovelace" in first
    assert 'href="?cursor=100"' in first
    second = arrived(client, client.get(url, {"cursor": "100"}))
    assert "cust-00101" in second
    assert "Ada Lovelace" not in second
    assert 'data-testid="next-page"' in second  # the sandbox moved the cursor to 150
    last = arrived(client, client.get(url, {"cursor": "150"}))
    # The exhausted-cursor 400 is the end of the listing, not an error.
    assert "End of the listing." in last
    assert 'data-testid="problem"' not in last
    assert CachedProfile.objects.filter(account=octy).count() == 150


def test_octy_filters_are_sent_and_bad_ones_refused(
    octy_sandbox, demo_account, support, client_for
):
    octy = demo_account("octy")
    url = reverse("profiles:browse", args=[octy.pk])
    client = client_for(support)

    page = arrived(client, client.get(url, {"churn_prob": "high"}))
    assert page.count("<tr>") > 1
    assert 'href="?churn_prob=high&amp;cursor=' in page  # the next page keeps the filter
    statuses = {c.data["attributes"]["churn_prob"] for c in CachedProfile.objects.all()}
    assert statuses == {"high"}
    refused = client.get(url, {"rfm": "high"}).content.decode()
    assert "errorlist" in refused


def test_altcraft_pages_follow_from_id(demo_account, support, client_for):
    altcraft = demo_account("altcraft")
    url = reverse("profiles:browse", args=[altcraft.pk])
    client = client_for(support)

    first = arrived(client, client.get(url))
    assert "Ada Lovelace" in first
    assert "?cursor=5f4fa1a5" in first
    cursor = first.split("?cursor=")[1].split('"')[0]
    second = arrived(client, client.get(url, {"cursor": cursor}))
    assert "Ada Lovelace" not in second
    assert CachedProfile.objects.filter(account=altcraft).count() == 100


def test_a_failing_provider_shows_its_problem(demo_account, support, client_for, sandbox):
    from integrations.sandbox import Fault

    sandbox["altcraft"].app.faults.add(Fault(kind="status", status=503))
    altcraft = demo_account("altcraft")
    client = client_for(support)
    page = client.get(reverse("profiles:browse", args=[altcraft.pk]))
    assert page.status_code == 200
    assert 'data-kind="unavailable"' in arrived(client, page)


def test_sync_button_queues_one_job_per_account(demo_account, support, client_for):
    octy = demo_account("octy")
    client = client_for(support)
    url = reverse("profiles:sync_start", args=[octy.pk])

    first = client.post(url, {"churn_prob": "low"}, headers={"HX-Request": "true"})
    again = client.post(url, headers={"HX-Request": "true"})

    assert 'data-testid="sync-job"' in first.content.decode()
    assert SyncJob.objects.count() == 1
    assert SyncJob.objects.get().filters == {"churn_prob": "low"}
    assert f'id="sync-job-{SyncJob.objects.get().pk}"' in again.content.decode()


def test_croct_accounts_cannot_be_browsed(demo_account, support, client_for):
    croct = demo_account("croct")
    assert client_for(support).get(reverse("profiles:browse", args=[croct.pk])).status_code == 404


def test_garbled_ids_and_cursors_are_answered_not_crashed(demo_account, support, client_for):
    octy = demo_account("octy")
    altcraft = demo_account("altcraft")
    client = client_for(support)

    for account, garbled in ((octy, "a,b"), (altcraft, "nothex")):
        page = client.get(reverse("profiles:profile", args=[account.pk, garbled]))
        assert page.status_code == 200
        assert 'data-testid="status-gone"' in arrived(client, page)
    page = client.get(reverse("profiles:browse", args=[altcraft.pk]), {"cursor": "zzz"})
    assert page.status_code == 200
    assert "from_id" in arrived(client, page)
    edit = client.post(
        reverse("profiles:profile_edit", args=[altcraft.pk, "nothex"]),
        {"name": "_city", "value": "Paris"},
        headers={"HX-Request": "true"},
    )
    assert edit.status_code == 200
    refused = arrived(client, edit)
    assert 'data-testid="edit-refused"' in refused
    assert 'value="Paris"' in refused  # what was typed is kept


def test_the_sweeper_requeues_work_left_behind(demo_account, settings):
    from datetime import timedelta

    from django.utils import timezone

    from dashboard.profiles.models import LookupRequest, LookupResult, ProfileWork
    from dashboard.profiles.sweeper import sweep_stalled

    octy = demo_account("octy")
    old = timezone.now() - timedelta(minutes=30)
    job = SyncJob.objects.create(account=octy, status="running")
    SyncJob.objects.filter(pk=job.pk).update(updated_at=old)
    lookup = LookupRequest.objects.create(query="cust-00001", kind="octy_id")
    LookupRequest.objects.filter(pk=lookup.pk).update(created_at=old)
    LookupResult.objects.create(request=lookup, account=octy, status="running")

    page_work = ProfileWork.objects.create(kind="fetch", account=octy, status="running")
    ProfileWork.objects.filter(pk=page_work.pk).update(created_at=old)

    counts = sweep_stalled(older_than_seconds=60)

    assert counts == {"sync": 1, "export": 0, "lookup": 1, "profile_work": 1}
    assert ProfileWork.objects.get(pk=page_work.pk).status == "pending"
    assert SyncJob.objects.get(pk=job.pk).status == "pending"


def test_a_refused_sync_is_said_in_place_without_a_flash_message(demo_account, support, client_for):
    octy = demo_account("octy")
    client = client_for(support)

    refused = client.post(
        reverse("profiles:sync_start", args=[octy.pk]),
        {"churn_prob": "nonsense"},
        headers={"HX-Request": "true"},
    )

    assert 'data-testid="sync-refused"' in refused.content.decode()
    assert not SyncJob.objects.exists()
    page = client.get(reverse("profiles:browse", args=[octy.pk])).content.decode()
    assert 'class="messages"' not in page

"""Every profiles URL for every role: who gets in, who gets a 403."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard.profiles.models import ExportJob, LookupRequest, LookupResult, ProfileWork, SyncJob

pytestmark = pytest.mark.django_db

LOOKUP, EDIT, EXPORT, AUDIT = "lookup", "edit", "export", "audit"
ALLOWED = {
    LOOKUP: {"support", "admin"},
    EDIT: {"support", "admin"},
    EXPORT: {"admin"},
    AUDIT: {"admin"},
}


@pytest.fixture
def objects(db, demo_account):
    from dashboard.profiles.cache import cache_upsert

    octy = demo_account("octy")
    croct = demo_account("croct")
    lookup = LookupRequest.objects.create(query="cust-00001", kind="octy_id")
    cache_upsert(
        account=octy,
        profiles=[{"profile_id": "profile_cached", "name": "Ada", "email": "ada@example.com"}],
        fetched_at=timezone.now(),
    )
    sync = SyncJob.objects.create(account=octy, status="failed")
    export = ExportJob.objects.create(
        account=croct, kind="events", start_ms=0, end_ms=1, status="failed", file_name="x.jsonl"
    )
    result = LookupResult.objects.create(request=lookup, account=octy, status="failed")
    # The work rows the profile pages poll (#16), one per kind, already answered.
    work = {
        kind: ProfileWork.objects.create(
            kind=kind, account=octy, profile_id="profile_cached", status="done", outcome={}
        )
        for kind in ("fetch", "edit", "browse")
    }
    return {
        "octy": octy,
        "lookup": lookup,
        "result": result,
        "sync": sync,
        "export": export,
        **work,
    }


# What _urls reverses URLs from (other files hand it stand-ins with these keys).
OBJECT_KEYS = ("octy", "lookup", "result", "sync", "export", "fetch", "edit", "browse")


def _urls(o):
    octy = o["octy"].pk
    return [
        ("get", reverse("profiles:index"), LOOKUP),
        ("post", reverse("profiles:index"), LOOKUP),
        ("get", reverse("profiles:lookup", args=[o["lookup"].pk]), LOOKUP),
        ("post", reverse("profiles:lookup_retry", args=[o["result"].pk]), LOOKUP),
        ("get", reverse("profiles:profile_arrival", args=[o["fetch"].pk]), LOOKUP),
        ("get", reverse("profiles:profile_status", args=[o["fetch"].pk]), LOOKUP),
        ("get", reverse("profiles:profile_calls", args=[o["fetch"].pk]), LOOKUP),
        ("get", reverse("profiles:profile_edit_result", args=[o["edit"].pk]), EDIT),
        ("get", reverse("profiles:browse_result", args=[o["browse"].pk]), LOOKUP),
        ("get", reverse("profiles:profile", args=[octy, "profile_cached"]), LOOKUP),
        ("post", reverse("profiles:profile_refresh", args=[octy, "profile_cached"]), LOOKUP),
        ("post", reverse("profiles:profile_edit", args=[octy, "profile_cached"]), EDIT),
        ("get", reverse("profiles:browse", args=[octy]), LOOKUP),
        ("get", reverse("profiles:cache"), LOOKUP),
        ("post", reverse("profiles:sync_start", args=[octy]), EDIT),
        ("get", reverse("profiles:sync_job", args=[o["sync"].pk]), LOOKUP),
        ("post", reverse("profiles:sync_control", args=[o["sync"].pk, "resume"]), EDIT),
        ("get", reverse("profiles:exports"), EXPORT),
        ("post", reverse("profiles:exports"), EXPORT),
        ("get", reverse("profiles:export_job", args=[o["export"].pk]), EXPORT),
        ("get", reverse("profiles:export_download", args=[o["export"].pk]), EXPORT),
        ("post", reverse("profiles:export_control", args=[o["export"].pk, "cancel"]), EXPORT),
        ("get", reverse("profiles:access"), AUDIT),
    ]


@pytest.mark.parametrize("role", ["marketer", "support", "admin"])
def test_role_by_url_matrix(role, role_users, client_for, objects):
    client = client_for(role_users[role])
    for method, url, need in _urls(objects):
        response = getattr(client, method)(url)
        if role in ALLOWED[need]:
            assert response.status_code != 403, (role, method, url)
            assert response.status_code < 500, (role, method, url)
        else:
            assert response.status_code == 403, (role, method, url, response.status_code)


def test_anonymous_is_sent_to_login(client, objects):
    for method, url, _ in _urls(objects):
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert "/login/" in response["Location"], url


def test_staff_without_the_permission_gets_403_on_the_lookup(client_for, make_plain_user):
    assert client_for(make_plain_user).get(reverse("profiles:index")).status_code == 403


@pytest.fixture
def make_plain_user(db):
    from tests.conftest import make_user

    return make_user(None, username="plain")

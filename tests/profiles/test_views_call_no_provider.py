"""Issue #16: every provider call a profiles page needs runs as a task on a work row.

Drives every profiles view with the test client while any provider exchange made
inside a request (between Django's request_started and request_finished) is recorded
and refused, then lets the queued work run (outside any request) and checks what
the pages show arriving.
"""

from __future__ import annotations

import pytest
from django.core.signals import request_finished, request_started
from django.urls import reverse

from dashboard.profiles.models import (
    CachedProfile,
    ExportJob,
    LookupRequest,
    LookupResult,
    ProfileWork,
    SyncJob,
)
from integrations.http import ProviderSession
from tests.profiles.conftest import arrived, poll_url, run_profile_work

pytestmark = pytest.mark.django_db


class ProviderCallInView(AssertionError):
    pass


@pytest.fixture
def calls_in_views(monkeypatch):
    """The provider operations attempted while a view was running (each refused)."""
    in_request = []
    attempted: list[str] = []
    real_call = ProviderSession.call

    def call(self, operation, *args, **kwargs):
        if in_request:
            attempted.append(operation)
            raise ProviderCallInView(f"a view called {operation}")
        return real_call(self, operation, *args, **kwargs)

    def started(**_):
        in_request.append(True)

    def finished(**_):
        in_request.clear()

    monkeypatch.setattr(ProviderSession, "call", call)
    request_started.connect(started, dispatch_uid="calls_in_views_started")
    request_finished.connect(finished, dispatch_uid="calls_in_views_finished")
    yield attempted
    request_started.disconnect(dispatch_uid="calls_in_views_started")
    request_finished.disconnect(dispatch_uid="calls_in_views_finished")


def _ada_ids(octy, altcraft):
    from dashboard.accounts.services import provider_client

    return (
        provider_client(octy).get_profiles(["cust-00001"])[0].profile_id,
        provider_client(altcraft).get_profile("email", "ada@example.com").profile_id,
    )


def test_no_profiles_view_opens_a_provider_connection(
    calls_in_views, profile_accounts, admin, client_for
):
    octy, altcraft = profile_accounts["octy"], profile_accounts["altcraft"]
    octy_ada, altcraft_ada = _ada_ids(octy, altcraft)  # outside any request
    client = client_for(admin)
    htmx = {"HX-Request": "true"}

    def ok(response, *statuses):
        html = response.content.decode()
        assert response.status_code in (statuses or (200,)), html[html.find("errorlist") - 300 :][
            :800
        ]
        return response

    # Look-ups (already worked this way) and their retry.
    ok(client.get(reverse("profiles:index")))
    looked_up = ok(client.post(reverse("profiles:index"), {"q": "ada@example.com"}), 302)
    ok(client.get(looked_up["Location"]))
    ok(client.get(looked_up["Location"], headers=htmx))
    result = LookupResult.objects.filter(request=LookupRequest.objects.get()).first()
    LookupResult.objects.filter(pk=result.pk).update(status="failed")
    ok(client.post(reverse("profiles:lookup_retry", args=[result.pk]), headers=htmx))

    # One profile, not cached yet: the page arrives.
    profile_url = reverse("profiles:profile", args=[octy.pk, octy_ada])
    page = ok(client.get(profile_url))
    assert 'data-testid="arriving"' in page.content.decode()
    body = arrived(client, page)
    assert "Ada Lovelace" in body
    assert CachedProfile.objects.filter(account=octy, profile_id=octy_ada).exists()
    # Cached now: shown at once.
    ok(client.get(profile_url))

    # Refresh, with and without htmx.
    refresh_url = reverse("profiles:profile_refresh", args=[octy.pk, octy_ada])
    assert 'data-testid="status-ok"' in arrived(client, ok(client.post(refresh_url, headers=htmx)))
    plain = ok(client.post(refresh_url), 302)
    ok(client.get(plain["Location"]))
    run_profile_work()

    # Edit, with and without htmx, and the calls panel that follows it.
    edit_url = reverse("profiles:profile_edit", args=[octy.pk, octy_ada])
    edit = ok(client.post(edit_url, {"name": "plan", "value": "pro"}, headers=htmx))
    assert 'data-testid="edit-ok"' in arrived(client, edit)
    ok(client.post(edit_url, {"name": "plan", "value": "team"}), 302)
    run_profile_work()
    last = ProfileWork.objects.filter(kind="edit").first()
    ok(client.get(reverse("profiles:profile_calls", args=[last.pk])), 200, 286)
    ok(client.get(reverse("profiles:profile_status", args=[last.pk])), 200, 286)
    ok(client.get(reverse("profiles:profile_edit_result", args=[last.pk])), 200, 286)

    # Browse (with a filter), sync, the cache, exports, the access log.
    browse = ok(client.get(reverse("profiles:browse", args=[octy.pk]), {"churn_prob": "low"}))
    assert "<tr>" in arrived(client, browse)
    ok(client.get(reverse("profiles:browse", args=[altcraft.pk])))
    ok(client.post(reverse("profiles:sync_start", args=[altcraft.pk]), headers=htmx))
    job = SyncJob.objects.get()
    ok(client.get(reverse("profiles:sync_job", args=[job.pk])))
    ok(client.post(reverse("profiles:sync_control", args=[job.pk, "cancel"]), headers=htmx))
    ok(client.get(reverse("profiles:cache")))
    ok(client.get(reverse("profiles:cache"), {"q": "ada"}, headers=htmx))
    ok(client.get(reverse("profiles:exports")))
    ok(
        client.post(
            reverse("profiles:exports"),
            {
                "account": profile_accounts["croct"].pk,
                "kind": "events",
                "start": "2029-12-31 00:00",
                "end": "2030-01-01 00:00",
            },
        ),
        302,
    )
    export = ExportJob.objects.get()
    ok(client.get(reverse("profiles:export_job", args=[export.pk])))
    ok(client.post(reverse("profiles:export_control", args=[export.pk, "cancel"]), headers=htmx))
    ok(client.get(reverse("profiles:access")))
    ok(client.get(reverse("profiles:profile", args=[altcraft.pk, altcraft_ada])))

    assert calls_in_views == []


def test_the_guard_itself_catches_a_view_calling_the_provider(
    calls_in_views, profile_accounts, support, client_for, monkeypatch
):
    """The fixture above is only worth something if it sees a call made in a view."""
    from dashboard.profiles import views

    octy = profile_accounts["octy"]

    def fetch_now(*, account, profile_id, actor=None):
        from dashboard.profiles.services import profile_fetch

        profile_fetch(account=account, profile_id=profile_id)
        raise AssertionError("unreachable: the guard refuses the call")

    monkeypatch.setattr(views.work, "profile_fetch_start", fetch_now)
    with pytest.raises(ProviderCallInView):
        client_for(support).get(reverse("profiles:profile", args=[octy.pk, "profile_x"]))
    assert calls_in_views == ["octy.profiles.get"]


def test_a_page_never_polls_a_row_of_another_kind(profile_accounts, support, client_for):
    octy = profile_accounts["octy"]
    client = client_for(support)
    page = client.get(reverse("profiles:browse", args=[octy.pk]))
    url = poll_url(page.content.decode())
    assert "/page/" in url
    row = ProfileWork.objects.get()
    assert client.get(reverse("profiles:profile_edit_result", args=[row.pk])).status_code in (
        403,
        404,
    )

"""A disabled account is never called, whichever feature asks (#15 finding 7).

One place decides (``accounts.services.provider_client``): the profile page, its
refresh, edits, browsing, syncs and exports all stop there with a sentence, and the
call log shows no call to the account after it was disabled.
"""

from __future__ import annotations

import html

import pytest
from django.urls import reverse

from dashboard.accounts.services import (
    AccountDisabled,
    account_check_request,
    account_check_run,
    account_set_enabled,
    provider_client,
)
from dashboard.calls.models import ApiCall
from dashboard.profiles.models import JobStatus
from dashboard.profiles.sync import sync_run, sync_start
from tests.conftest import flush_call_log

pytestmark = pytest.mark.django_db


@pytest.fixture
def disabled_octy(demo_account):
    account = demo_account("octy")
    account_set_enabled(account=account, enabled=False)
    return account


def test_no_feature_gets_a_client_for_a_disabled_account(disabled_octy):
    with pytest.raises(AccountDisabled, match="is disabled: enable it"):
        provider_client(disabled_octy)


def test_the_profile_pages_say_the_account_is_disabled_and_call_nothing(
    disabled_octy, support, client_for
):
    client = client_for(support)
    page = client.get(reverse("profiles:profile", args=[disabled_octy.pk, "cust-00001"]))
    text = html.unescape(page.content.decode())

    assert page.status_code == 200
    assert "is disabled: enable it to call Octy" in text
    edit = client.post(
        reverse("profiles:profile_edit", args=[disabled_octy.pk, "cust-00001"]),
        {"name": "plan", "value": "pro"},
        headers={"HX-Request": "true"},
    )
    assert "is disabled" in html.unescape(edit.content.decode())
    browse = client.get(reverse("profiles:browse", args=[disabled_octy.pk]))
    assert "is disabled" in html.unescape(browse.content.decode())
    assert not ApiCall.objects.filter(account=disabled_octy).exists()


def test_a_sync_of_a_disabled_account_fails_with_the_sentence(disabled_octy, support):
    job = sync_start(account=disabled_octy, actor=support)
    job = sync_run(job_id=job.pk)

    assert job.status == JobStatus.FAILED
    assert "is disabled" in str(job.problem or job.note)
    assert not ApiCall.objects.filter(account=disabled_octy).exists()


def test_an_admin_may_still_test_a_disabled_accounts_key(disabled_octy):
    check = account_check_run(check_id=account_check_request(account=disabled_octy).pk)
    assert check.status == "ok"
    flush_call_log()
    assert ApiCall.objects.filter(account=disabled_octy).exists()

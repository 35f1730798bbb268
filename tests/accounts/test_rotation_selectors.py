"""The reads the Overview uses: keys due for rotation and accounts whose last check failed."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.utils import timezone

from dashboard.accounts import selectors
from dashboard.accounts.models import AccountCheck, Credential
from dashboard.accounts.services import account_check_run
from integrations.croct.sandbox import DEMO_SECRETS
from tests.accounts.conftest import NEW_KEY, REJECTED_KEY
from tests.conftest import flush_call_log


def age(credential: Credential, days: int) -> None:
    Credential.objects.filter(pk=credential.pk).update(
        created_at=timezone.now() - timedelta(days=days)
    )


def test_active_keys_older_than_the_configured_age_are_due(demo_account, settings):
    settings.CREDENTIAL_MAX_AGE_DAYS = 90
    old = demo_account("croct", name="Old key").credentials.get()
    fresh = demo_account("octy", name="Fresh key").credentials.get()
    age(old, 120)
    age(fresh, 30)

    due = selectors.credentials_due_for_rotation()

    assert [c.pk for c in due] == [old.pk]
    assert due[0].account.name == "Old key"
    assert due[0].last_used is None
    assert [c.pk for c in selectors.credentials_due_for_rotation(max_age_days=10)] == [
        old.pk,
        fresh.pk,
    ]  # oldest first
    settings.CREDENTIAL_MAX_AGE_DAYS = 200
    assert selectors.credentials_due_for_rotation() == []


def test_only_active_keys_are_due_and_last_use_comes_from_the_call_log(croct, rotate_in_process):
    old = croct.credentials.get()
    age(old, 400)
    check = AccountCheck.objects.create(account=croct)
    account_check_run(check_id=check.pk)  # one recorded call with the old key
    flush_call_log()
    [due] = selectors.credentials_due_for_rotation()
    assert due.last_used is not None

    rotate_in_process(croct, NEW_KEY)  # the old key is now previous, the new one fresh
    assert selectors.credentials_due_for_rotation() == []


def test_a_rotation_keeps_the_key_age_from_when_it_was_added(croct, rotate_in_process):
    with time_machine.travel(timezone.now() - timedelta(days=100)):
        new = rotate_in_process(croct, NEW_KEY)
    assert [c.pk for c in selectors.credentials_due_for_rotation()] == [new.pk]


def test_accounts_whose_last_check_of_the_active_key_failed(demo_account, rotate_in_process):
    bad = demo_account("croct", name="Bad", secrets={"api_key": REJECTED_KEY})
    good = demo_account("octy", name="Good")
    for account in (bad, good):
        account_check_run(check_id=AccountCheck.objects.create(account=account).pk)

    rows = selectors.accounts_with_failed_checks()

    assert [row["account"].name for row in rows] == ["Bad"]
    assert rows[0]["check"].problem["kind"] == "auth"


def test_a_failed_verification_of_a_new_key_does_not_count_as_a_failing_account(
    croct, rotate_in_process
):
    account_check_run(check_id=AccountCheck.objects.create(account=croct).pk)
    rotate_in_process(croct, REJECTED_KEY)
    assert selectors.accounts_with_failed_checks() == []
    assert croct.credentials.get(state="active").hints["api_key"] == DEMO_SECRETS["api_key"][-4:]

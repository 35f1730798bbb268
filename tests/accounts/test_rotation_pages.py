"""The rotation controls on the account page (no worker: the verification is run
in-process), errors since rotation, and what each role sees."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard.accounts import rotation
from dashboard.calls.models import ApiCall
from integrations.croct.sandbox import DEMO_SECRETS
from tests.accounts.conftest import NEW_KEY, OTHER_KEY
from tests.conftest import flush_call_log


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def failed_auth_call(account, fingerprint: str, *, minutes_ago: int = 1) -> ApiCall:
    return ApiCall.objects.create(
        account=account,
        provider=account.provider,
        operation="croct.evaluate",
        credential_fingerprint=fingerprint,
        method="POST",
        url=f"{account.base_url}/external/web/evaluate",
        status=401,
        started_at=timezone.now() - timedelta(minutes=minutes_ago),
        duration_ms=5,
        outcome="failed",
        problem_kind="auth",
        problem_title="Authentication failed",
    )


def test_auth_errors_on_the_new_key_show_on_the_account_with_a_rollback(
    croct, admin, client_for, rotate_in_process
):
    new = rotate_in_process(croct, NEW_KEY)
    failed_auth_call(croct, new.fingerprint, minutes_ago=0)
    failed_auth_call(croct, new.fingerprint, minutes_ago=0)
    # Failures of the old key, or before the rotation, are not the new key's fault.
    failed_auth_call(croct, croct.credentials.get(state="previous").fingerprint, minutes_ago=0)
    client = client_for(admin)

    page = client.get(reverse("accounts:detail", args=[croct.pk])).content.decode()

    assert 'data-testid="errors-since-rotation"' in page
    assert "2 authentication errors since rotation" in page
    assert reverse("accounts:rollback", args=[croct.pk]) in page

    response = client.post(reverse("accounts:rollback", args=[croct.pk]))
    assert response.status_code == 302
    page = client.get(response.url).content.decode()
    assert "Rolled back" in page
    assert 'data-testid="errors-since-rotation"' not in page
    assert croct.credentials.get(state="active").hints == {"api_key": DEMO_SECRETS["api_key"][-4:]}


def test_no_errors_notice_without_auth_failures_or_after_the_window(
    croct, admin, client_for, rotate_in_process
):
    import time_machine

    new = rotate_in_process(croct, NEW_KEY, overlap_hours=1)
    client = client_for(admin)
    page = client.get(reverse("accounts:detail", args=[croct.pk])).content.decode()
    assert 'data-testid="errors-since-rotation"' not in page

    failed_auth_call(croct, new.fingerprint, minutes_ago=0)
    with time_machine.travel(timezone.now() + timedelta(hours=2)):
        page = client.get(reverse("accounts:detail", args=[croct.pk])).content.decode()
    assert 'data-testid="errors-since-rotation"' not in page
    assert 'data-testid="rollback"' not in page


def test_the_credentials_table_shows_age_last_use_and_who_added_the_key(
    croct, admin, client_for, rotate_in_process
):
    new = rotate_in_process(croct, NEW_KEY, actor=admin)
    flush_call_log()
    page = client_for(admin).get(reverse("accounts:detail", args=[croct.pk])).content.decode()

    row = page[page.index(f'data-fingerprint="{new.fingerprint}"') :].split("</tr>")[0]
    assert "Active" in row
    assert f"by {admin.username}" in row
    assert row.count("<time datetime=") == 2  # its age, and its last use (the verification call)
    assert NEW_KEY not in page


def test_the_rotate_form_refuses_a_second_rotation_with_a_409_and_a_message(
    croct, admin, client_for
):
    rotation.credential_add(account=croct, secrets={"api_key": NEW_KEY}, enqueue=False)
    client = client_for(admin)

    response = client.post(
        reverse("accounts:rotate", args=[croct.pk]),
        {"secret_api_key": OTHER_KEY, "overlap_hours": "24"},
    )

    assert response.status_code == 409
    body = response.content.decode()
    assert "Another rotation of Croct shop is in progress" in body
    assert OTHER_KEY not in body  # secrets are never echoed back
    assert croct.credentials.filter(state="pending").count() == 1


def test_the_rotate_form_shows_field_errors_without_echoing_the_secret(croct, admin, client_for):
    response = client_for(admin).post(
        reverse("accounts:rotate", args=[croct.pk]),
        {"secret_api_key": "bad-key-value-1234", "overlap_hours": "99999"},
    )
    assert response.status_code == 422
    body = response.content.decode()
    assert "bad-key-value-1234" not in body
    assert "overlap_hours" in body
    assert croct.credentials.count() == 1


def test_the_rotate_form_reports_the_key_and_the_overlap_in_one_round(croct, admin, client_for):
    """#16 defect 3: both mistakes at once, the overlap kept, the cleared key said."""
    response = client_for(admin).post(
        reverse("accounts:rotate", args=[croct.pk]),
        {"secret_api_key": "not-a-uuid-key", "overlap_hours": "99999"},
    )
    assert response.status_code == 422
    form = response.context["form"]
    assert set(form.errors) >= {"secret_api_key", "overlap_hours"}, form.errors
    body = response.content.decode()
    assert 'value="99999"' in body
    assert "not-a-uuid-key" not in body
    assert 'data-testid="secrets-cleared"' in body


def test_commanders_act_rotation_asks_for_confirmation_on_the_page(demo_account, admin, client_for):
    account = demo_account("commanders_act")
    client = client_for(admin)
    response = client.post(
        reverse("accounts:rotate", args=[account.pk]),
        {"secret_source_key": "bmV3LXNvdXJjZS1rZXk=", "overlap_hours": "24"},
    )
    page = client.get(response.url).content.decode()
    assert "cannot prove the key works" in page
    # #16 defect 11: the explanation once, and the table in the panel's words.
    assert page.count("cannot prove the key works") == 1
    assert "Waiting for your confirmation" in page
    assert 'data-testid="confirm-promote"' in page
    pending = account.credentials.get(state="pending")

    # Without the box ticked nothing changes and the admin is told why.
    response = client.post(reverse("accounts:promote", args=[account.pk, pending.pk]))
    page = client.get(response.url).content.decode()
    assert "Confirm that you tested the new key" in page
    pending.refresh_from_db()
    assert pending.state == "pending"

    client.post(reverse("accounts:promote", args=[account.pk, pending.pk]), {"confirm": "on"})
    pending.refresh_from_db()
    assert pending.state == "active"


def test_marketers_and_support_see_names_and_health_but_no_key_metadata(
    croct, marketer, support, client_for, rotate_in_process
):
    new = rotate_in_process(croct, NEW_KEY)
    failed_auth_call(croct, new.fingerprint, minutes_ago=0)
    for user in (marketer, support):
        page = client_for(user).get(reverse("accounts:detail", args=[croct.pk])).content.decode()
        assert croct.name in page
        assert 'id="account-health"' in page
        for hidden in (
            new.fingerprint,
            DEMO_SECRETS["api_key"][-4:],
            'data-testid="credential"',
            'data-testid="rotate-key"',
            'data-testid="errors-since-rotation"',
            croct.base_url,
        ):
            assert hidden not in page, (user.username, hidden)


def test_the_panels_and_the_table_come_from_one_read_of_the_keys(
    demo_account, admin, client_for, monkeypatch
):
    """A key promoted by the worker between two reads once gave a table row "Pending
    verification" with no panel polling for it, so the page never caught up (the
    rotation journey's order-dependent failure). The page reads the keys once."""
    from dashboard.accounts import rotation_views, selectors

    account = demo_account("croct")
    pending = rotation.credential_add(account=account, secrets={"api_key": NEW_KEY}, enqueue=False)
    read_once = selectors.credentials_for

    def read_then_the_worker_promotes(**kwargs):
        rows = read_once(**kwargs)
        account.credentials.filter(state="active").update(state="previous")
        account.credentials.filter(pk=pending.pk).update(state="active")
        return rows

    monkeypatch.setattr(rotation_views.selectors, "credentials_for", read_then_the_worker_promotes)
    page = client_for(admin).get(reverse("accounts:detail", args=[account.pk])).content.decode()
    assert f'data-state="pending" data-fingerprint="{pending.fingerprint}"' in page
    assert f'id="rotation-{pending.pk}"' in page
    assert reverse("accounts:rotation_status", args=[account.pk, pending.pk]) in page

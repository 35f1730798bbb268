"""The "Test connection" button end to end: view -> broker -> real worker -> page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dashboard.accounts.models import AccountCheck
from dashboard.calls.models import ApiCall
from tests.conftest import wait_for

pytestmark = pytest.mark.worker


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def click_test_and_wait(client, account) -> tuple[str, str]:
    """POST the Test button as htmx; return the first fragment and the finished one."""
    response = client.post(reverse("accounts:test", args=[account.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    first = response.content.decode()
    check = AccountCheck.objects.get(account=account)
    poll_url = reverse("accounts:check", args=[account.pk, check.pk])
    assert f'hx-get="{poll_url}"' in first

    def finished():
        answer = client.get(poll_url, HTTP_HX_REQUEST="true")
        return answer if answer.status_code == 286 else None

    return first, wait_for(finished).content.decode()


def test_the_worker_runs_the_check_and_the_fragment_shows_it_passed(
    celery_worker, demo_account, admin, client_for
):
    account = demo_account("croct")
    client = client_for(admin)

    first, done = click_test_and_wait(client, account)

    assert 'data-status="pending"' in first
    assert 'data-status="ok"' in done
    assert "Passed" in done
    account.refresh_from_db()
    assert account.health == "healthy"
    call = ApiCall.objects.get(account=account)
    assert call.outcome == "ok"
    assert call.task_id  # recorded from inside the worker's task
    assert call.subject_type == "account_check"


def test_a_rejected_credential_fails_on_the_worker_and_the_page_shows_the_problem(
    celery_worker, demo_account, admin, client_for
):
    account = demo_account("croct", secrets={"api_key": "0000dead-0000-4000-8000-000000000000"})
    client = client_for(admin)

    _, done = click_test_and_wait(client, account)

    check = AccountCheck.objects.get(account=account)
    assert check.status == "failed"
    assert 'data-status="failed"' in done
    assert check.problem["title"] in done
    assert "Passed" not in done
    account.refresh_from_db()
    assert account.health == "failing"
    detail = client.get(reverse("accounts:detail", args=[account.pk])).content.decode()
    assert check.problem["title"] in detail

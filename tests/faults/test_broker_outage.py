"""The broker goes away and comes back: the pages keep answering (showing the work as
pending), nothing is lost, and the sweeper hands the waiting work to a worker."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from dashboard.accounts.models import AccountCheck
from dashboard.core.queueing import sweep
from tests.conftest import wait_for

pytestmark = pytest.mark.worker


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def after_the_resend_delay(settings):
    """The clock moved past QUEUE_RESEND_AFTER_SECONDS (for the sweeper's query only)."""
    later = timezone.now() + timedelta(seconds=settings.QUEUE_RESEND_AFTER_SECONDS + 5)
    return time_machine.travel(later, tick=True)


def test_a_check_clicked_while_the_broker_is_down_waits_and_runs_once_it_is_back(
    redis_broker, start_worker_on, demo_account, admin, client_for, settings, caplog
):
    caplog.set_level(logging.WARNING, logger="dashboard.core.queueing")
    account = demo_account("croct")
    client = client_for(admin)
    redis_broker.kill()

    # "Test connection" with no broker: an answer within the bounded publish retries.
    started = time.monotonic()
    response = client.post(reverse("accounts:test", args=[account.pk]), HTTP_HX_REQUEST="true")
    assert time.monotonic() - started < 10
    assert response.status_code == 200
    assert 'data-status="pending"' in response.content.decode()
    check = AccountCheck.objects.get(account=account)
    assert check.status == "pending"
    assert any(r.getMessage() == "task_not_sent" for r in caplog.records)

    # The pages keep answering while the broker is down, showing the check pending.
    detail = client.get(reverse("accounts:detail", args=[account.pk]))
    assert detail.status_code == 200
    assert 'data-status="pending"' in detail.content.decode()
    poll = client.get(
        reverse("accounts:check", args=[account.pk, check.pk]), HTTP_HX_REQUEST="true"
    )
    assert poll.status_code == 200  # still polling, not 286
    assert client.get(reverse("overview")).status_code == 200
    health = client.get(reverse("healthz"))
    assert health.status_code == 503
    assert health.json()["checks"]["broker"]["ok"] is False
    assert health.json()["checks"]["database"]["ok"] is True

    # The broker comes back (empty: the message was never sent).
    redis_broker.start()
    # Checks go to the interactive queue (#15 finding 5).
    assert redis_broker.queue_length("interactive") == 0
    assert client.get(reverse("healthz")).status_code == 200
    # Too early: a check that has not waited QUEUE_RESEND_AFTER_SECONDS is left alone.
    assert sweep()["accounts.checks"] == 0
    assert redis_broker.queue_length("interactive") == 0
    with after_the_resend_delay(settings):
        assert sweep()["accounts.checks"] == 1
    assert redis_broker.queue_length("interactive") == 1

    # A real worker on that broker runs it; the page's poll then says it passed.
    with start_worker_on():
        wait_for(lambda: AccountCheck.objects.get(pk=check.pk).status == "ok", timeout=20)
    account.refresh_from_db()
    assert account.health == "healthy"
    done = client.get(
        reverse("accounts:check", args=[account.pk, check.pk]), HTTP_HX_REQUEST="true"
    )
    assert done.status_code == 286
    assert 'data-status="ok"' in done.content.decode()
    # Nothing left waiting: the next sweep sends nothing.
    with after_the_resend_delay(settings):
        assert sweep()["accounts.checks"] == 0


def test_a_key_rotation_submitted_while_the_broker_is_down_is_verified_once_it_is_back(
    redis_broker, start_worker_on, demo_account, admin, client_for, settings
):
    from dashboard.accounts import rotation

    account = demo_account("croct")
    old = account.credentials.get()
    redis_broker.kill()

    new = rotation.credential_add(
        account=account, secrets={"api_key": "c0ffee00-1234-4abc-8def-5ec7e7ca0042"}, actor=admin
    )

    new.refresh_from_db()
    assert new.state == "pending"
    assert rotation.latest_verification(new).status == "pending"
    assert client_for(admin).get(reverse("accounts:detail", args=[account.pk])).status_code == 200

    redis_broker.start()
    with after_the_resend_delay(settings):
        assert sweep()["accounts.checks"] == 1
    with start_worker_on():
        wait_for(lambda: rotation.latest_verification(new).is_done, timeout=20)
        # The promotion follows the check inside the same task.
        wait_for(lambda: new.__class__.objects.get(pk=new.pk).state == "active", timeout=10)
    old.refresh_from_db()
    assert old.state == "previous"


def poll_url(account, check) -> str:
    return reverse("accounts:check", args=[account.pk, check.pk])

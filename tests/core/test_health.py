from __future__ import annotations

import pytest
from django.urls import reverse


def test_healthz_answers_json_without_login(client, db):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    data = response.json()
    assert data["status"] == "ok"
    assert data["checks"]["database"]["ok"] is True
    assert data["checks"]["broker"]["ok"] is True


def test_healthz_answers_503_when_the_broker_is_unreachable(client, db, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    data = response.json()
    assert data["status"] == "unavailable"
    assert data["checks"]["broker"]["ok"] is False
    assert data["checks"]["database"]["ok"] is True


def test_tests_cannot_reach_the_outside_network():
    import socket

    from tests.conftest import OutboundConnectionRefused

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        with pytest.raises(OutboundConnectionRefused):
            sock.connect(("192.0.2.1", 80))
    finally:
        sock.close()


@pytest.mark.worker
def test_a_real_worker_runs_tasks_from_the_configured_broker(celery_worker, demo_account):
    from dashboard.accounts.models import AccountCheck
    from dashboard.accounts.services import account_check_request
    from tests.conftest import wait_for

    account = demo_account("octy")
    from django.db import transaction

    with transaction.atomic():
        check = account_check_request(account=account)
    done = wait_for(lambda: AccountCheck.objects.get(pk=check.pk).is_done)
    assert done
    assert AccountCheck.objects.get(pk=check.pk).status == "ok"

"""Rotating a key from the account page end to end: view -> broker -> real worker ->
sandbox -> page, and what reaches the broker, the logs and the pages (never the key)."""

from __future__ import annotations

import json
import logging

import pytest
from auditlog.models import LogEntry
from celery.signals import before_task_publish
from django.db import OperationalError
from django.urls import reverse

from dashboard.accounts.models import Credential
from integrations.croct.sandbox import DEMO_SECRETS
from tests.accounts.conftest import NEW_KEY, REJECTED_KEY
from tests.conftest import wait_for

pytestmark = pytest.mark.worker


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def published():
    """Every task message published during the test: (task name, args, kwargs, headers)."""
    seen = []

    def record(sender=None, body=None, headers=None, **kwargs):
        seen.append((sender, json.dumps(body, default=str), json.dumps(headers, default=str)))

    before_task_publish.connect(record, weak=False)
    yield seen
    before_task_publish.disconnect(record)


def rotate_and_wait(client, account, api_key: str) -> tuple[Credential, str, str]:
    """Submit the rotate form, poll the panel until it settles; the key, the page
    right after the submit, and the last fragment."""
    response = client.post(
        reverse("accounts:rotate", args=[account.pk]),
        {"secret_api_key": api_key, "overlap_hours": "12"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    page = client.get(response.url).content.decode()
    credential = account.credentials.get(
        state__in=["pending", "failed", "active"], overlap_hours=12
    )
    poll_url = reverse("accounts:rotation_status", args=[account.pk, credential.pk])

    def settled():
        try:
            answer = client.get(poll_url, HTTP_HX_REQUEST="true")
        except OperationalError:
            # The test database is SQLite's shared in-memory cache, where a reader can
            # be refused while the worker writes; the browser would simply poll again.
            return None
        return answer if answer.status_code == 286 else None

    done = wait_for(settled, timeout=30, interval=0.3).content.decode()
    credential.refresh_from_db()
    return credential, page, done


def test_an_admin_rotates_a_key_the_worker_verifies_and_promotes_it(
    celery_worker, demo_account, admin, client_for, published, caplog
):
    caplog.set_level(logging.DEBUG)
    account = demo_account("croct", name="Croct live")
    old = account.credentials.get()
    client = client_for(admin)

    credential, page, done = rotate_and_wait(client, account, NEW_KEY)

    assert 'data-testid="rotation"' in page
    assert "Verifying the new key" in page
    assert credential.state == "active"
    assert 'data-state="active"' in done
    old.refresh_from_db()
    assert old.state == "previous"
    detail = client.get(reverse("accounts:detail", args=[account.pk])).content.decode()
    assert f'data-state="previous" data-fingerprint="{old.fingerprint}"' in detail
    assert 'data-testid="rollback"' in detail
    # Only ids went through the broker; the key is nowhere in messages, logs or pages.
    verify = [p for p in published if p[0] == "accounts.verify_credential"]
    assert verify
    for _name, body, headers in published:
        assert NEW_KEY not in body + headers
    for text in (caplog.text, page, done, detail):
        assert NEW_KEY not in text
        assert DEMO_SECRETS["api_key"] not in text
    audit = repr(list(LogEntry.objects.values()))
    assert NEW_KEY not in audit


def test_a_rejected_key_shows_the_problem_and_offers_retry_and_discard(
    celery_worker, demo_account, admin, client_for
):
    account = demo_account("croct", name="Croct reject")
    client = client_for(admin)

    credential, _, done = rotate_and_wait(client, account, REJECTED_KEY)

    assert credential.state == "failed"
    assert 'data-testid="problem"' in done
    assert credential.problem["title"] in done
    assert 'data-testid="retry"' in done
    assert 'data-testid="discard"' in done
    assert account.credentials.get(state="active").fingerprint != credential.fingerprint

    response = client.post(reverse("accounts:discard", args=[account.pk, credential.pk]))
    assert response.status_code == 302
    credential.refresh_from_db()
    assert credential.state == "revoked"
    assert credential.ciphertext == ""
    assert REJECTED_KEY not in client.get(response.url).content.decode()

"""/metrics: Prometheus text behind a bearer token, with no secret or customer data."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from dashboard.accounts.models import Credential
from dashboard.events.models import OutboundEvent
from tests.alerts.conftest import croct_problem, make_account, record

pytestmark = pytest.mark.django_db
TOKEN = "metrics-token-for-tests"


@pytest.fixture
def token(settings):
    settings.METRICS_TOKEN = TOKEN
    return TOKEN


def _scrape(client, token=TOKEN):
    return client.get("/metrics", headers={"Authorization": f"Bearer {token}"})


def test_without_a_configured_token_there_is_no_endpoint(client, settings):
    settings.METRICS_TOKEN = ""
    assert _scrape(client).status_code == 404


def test_a_wrong_or_missing_token_is_refused(client, token):
    assert client.get("/metrics").status_code == 401
    assert _scrape(client, "nope").status_code == 401


def test_it_reports_the_console_state(client, token):
    shop = make_account("Shop EU")
    key = Credential.objects.create(
        account=shop, state="active", fingerprint="fp_old", ciphertext="SECRET-CIPHERTEXT"
    )
    Credential.objects.filter(pk=key.pk).update(created_at=timezone.now() - timedelta(days=400))
    OutboundEvent.objects.create(
        account=shop,
        provider="croct",
        event_type="userSignedUp",
        body='{"email":"ann@example.com"}',
        size_bytes=2,
        idempotency_key="k1",
        user_id="customer-42",
        created_at=timezone.now() - timedelta(minutes=10),
    )
    record(
        croct_problem(401, "authentication/unknown-api-key"), account=shop, duration_ms=300, count=3
    )
    response = _scrape(client)
    assert response.status_code == 200
    text = response.content.decode()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    [depth] = families["switchyard_outbox_depth"].samples
    assert depth.labels == {"account": "Shop EU", "provider": "croct"}
    assert depth.value == 1
    [age] = families["switchyard_outbox_oldest_pending_seconds"].samples
    assert 590 < age.value < 700
    groups = {s.labels["state"]: s.value for s in families["switchyard_error_groups"].samples}
    assert groups == {"new": 1.0}
    [failures] = families["switchyard_provider_call_failures_last_hour"].samples
    assert failures.labels == {"provider": "croct", "kind": "auth"}
    assert failures.value == 3
    [keys] = families["switchyard_keys_past_rotation_age"].samples
    assert keys.value == 1
    buckets = {
        s.labels["le"]: s.value
        for s in families["switchyard_provider_call_duration_seconds"].samples
        if s.name.endswith("_bucket")
    }
    assert buckets["0.25"] == 0
    assert buckets["0.5"] == 3
    for leaked in ("SECRET-CIPHERTEXT", "ann@example.com", "customer-42", "fp_old", "127.0.0.1:9"):
        assert leaked not in text

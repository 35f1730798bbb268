"""Rule parameters per kind and what a destination string is taken for."""

from __future__ import annotations

import pytest

from dashboard.alerts import transport
from dashboard.alerts.rules import KINDS, RuleParamsError, clean_params


def test_defaults_fill_in_and_values_are_checked():
    assert clean_params("escalating_group", {"count": "7"}) == {
        "count": 7,
        "minutes": 60,
        "throttle_minutes": 60,
    }
    with pytest.raises(RuleParamsError) as refused:
        clean_params("escalating_group", {"count": 0, "minutes": "soon", "percent": 5})
    assert set(refused.value.errors) == {"count", "minutes", "percent"}
    with pytest.raises(RuleParamsError):
        clean_params("no_such_kind", {})


def test_every_kind_is_documented_with_a_label():
    assert len(KINDS) == 10
    assert all(kind.label for kind in KINDS.values())


@pytest.mark.parametrize(
    ("raw", "kind", "service"),
    [
        ("oncall@example.com", "email", "Email"),
        ("https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXXXXXXXXXX", "chat", "Slack"),
        ("https://discord.com/api/webhooks/123456/abcdefgh", "chat", "Discord"),
        ("pagerduty://integrationkey@apikey", "chat", "Pager Duty"),
        ("http://127.0.0.1:8080/hooks/alerts", "webhook", "Webhook"),
    ],
)
def test_destinations_are_recognised(raw, kind, service):
    target = transport.classify(raw)
    assert (target.kind, target.service) == (kind, service)


@pytest.mark.parametrize(
    "raw",
    [
        "not an address",
        "ftp://example.com/x",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/x",
        "http://metadata.google.internal/computeMetadata/v1/",
        "json://169.254.169.254/x",
        # What scripts can pass to alert_rule add without the form's checks.
        "http://exa\x00mple.com/x",
        "ops\x00@example.com",
        "https://example.com/" + "x" * 100_000,
        "http://example.com/a\r\nX-Injected: 1",
        "http://[::1",
        "http://exa mple.com/",
    ],
)
def test_unusable_or_dangerous_destinations_are_refused(raw):
    with pytest.raises(transport.DestinationInvalid):
        transport.classify(raw)


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body():
    import hashlib
    import hmac

    header = transport.sign(b'{"a":1}', "whsec_x", timestamp=1700000000)
    expected = hmac.new(b"whsec_x", b'1700000000.{"a":1}', hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"


@pytest.fixture
def production_allow_list(settings):
    """netguard as production configures it: no internal network allowed."""
    from integrations import netguard

    netguard.configure([])
    yield
    netguard.configure(settings.PROVIDER_ALLOWED_NETWORKS)


@pytest.mark.parametrize(
    "raw",
    [
        "http://127.0.0.1:6379/",
        "http://localhost:8000/admin",
        "https://10.0.0.5/hook",
        "http://[::1]/x",
        "json://192.168.1.20/x",
    ],
)
def test_internal_destinations_are_refused_like_provider_base_urls(production_allow_list, raw):
    with pytest.raises(transport.DestinationInvalid, match="does not call internal addresses"):
        transport.classify(raw)


def test_the_consoles_own_broker_is_refused_even_where_loopback_is_allowed(settings):
    # Development allows loopback (the sandboxes and a local receiver answer there),
    # but the console's own Redis is never a destination.
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/0"
    with pytest.raises(transport.DestinationInvalid, match="console's own services"):
        transport.classify("http://127.0.0.1:6379/")
    assert transport.classify("http://127.0.0.1:8123/hook").kind == "webhook"


def test_a_bad_port_is_refused_in_words():
    with pytest.raises(transport.DestinationInvalid, match="port"):
        transport.classify("http://example.com:99999/x")


def test_a_destination_label_loses_the_controls_that_disguise_it(db):
    from dashboard.alerts import services

    created = services.destination_create(
        target="ops@example.com", label="  pay\u202eroll\u202c\u2066 \ufeffteam  "
    )
    assert created.destination.label == "payroll team"

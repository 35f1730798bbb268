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

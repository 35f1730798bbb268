"""The source key travels in the URL (`token=`), so every recorded URL must hide it."""

import pytest

from integrations import errors
from integrations.commanders_act import PROVIDER
from integrations.commanders_act.sandbox import DEMO_SECRETS, DEMO_SETTINGS
from tests.integrations.commanders_act.samples import make_event

KEY = DEMO_SECRETS["source_key"]


def _recorded_text(exchange) -> str:
    problem = exchange.problem.to_dict() if exchange.problem else {}
    return " ".join(
        [
            exchange.url,
            str(exchange.request_headers),
            exchange.request_body,
            str(exchange.response_headers),
            exchange.response_body,
            str(problem),
        ]
    )


def test_the_token_is_redacted_from_every_recorded_url(client, exchanges):
    """contract: Commanders Act / token redacted wherever a URL is stored or shown"""
    client.send_event(make_event("r1"))
    client.send_batch([make_event("r2")])
    assert len(exchanges) == 2
    for exchange in exchanges:
        assert "token=[REDACTED]" in exchange.url
        assert KEY not in _recorded_text(exchange)


def test_the_token_is_redacted_from_a_transport_failure():
    """contract: Commanders Act / token redacted wherever a URL is stored or shown"""
    # Nothing listens on port 9 of the loopback: requests puts the full URL (token
    # included) in its connection error text, which the recorder must not keep.
    exchanges = []
    client = PROVIDER.build_client(
        base_url="http://127.0.0.1:9",
        settings=DEMO_SETTINGS,
        secrets=DEMO_SECRETS,
        hook=exchanges.append,
        connect_timeout=0.5,
    )
    with pytest.raises(errors.ProviderError) as caught:
        client.send_event(make_event("down"))
    assert KEY not in str(caught.value)
    assert KEY not in caught.value.problem.detail
    (exchange,) = exchanges
    assert KEY not in _recorded_text(exchange)
    assert "token=[REDACTED]" in exchange.url

"""No secret reaches the call log, in any form (providers/octy.md: auth)."""

from __future__ import annotations

import base64
import dataclasses

import pytest

from integrations import errors
from integrations.octy import PROVIDER
from integrations.octy.payloads import NewProfile, OctyEvent
from integrations.sandbox import Fault

SECRETS = {
    "public_key": "pk_live_5c1b2a3d-redact-me",
    "secret_key": "sk_live_9e8f7a6b-redact-me-too",
}


def forbidden_strings():
    pair = f"{SECRETS['public_key']}:{SECRETS['secret_key']}"
    return [
        SECRETS["public_key"],
        SECRETS["secret_key"],
        pair,
        base64.b64encode(pair.encode()).decode(),
    ]


def exchange_text(exchange) -> str:
    data = dataclasses.asdict(exchange)
    return repr(data)


def test_secret_values_include_the_basic_token():
    values = PROVIDER.secret_values(SECRETS)
    assert set(forbidden_strings()) <= set(values)


def test_it_keeps_every_secret_out_of_every_exchange(make_client, exchanges, sandbox):
    client = make_client(SECRETS)
    client.get_profiles(["cust-00001"])
    client.profiles_page("0")
    client.profiles_page("999999")
    client.create_profiles([NewProfile("redaction-1", {"note": SECRETS["secret_key"]})])
    (ada,) = client.get_profiles(["cust-00001"])
    client.create_events([OctyEvent("signup", ada.profile_id)])
    with pytest.raises(errors.InvalidRequest):
        client.delete_profiles(["profile_nope"])
    sandbox.app.faults.add(Fault(kind="status", status=503, count=1))
    with pytest.raises(errors.ProviderUnavailable):
        client.event_types()
    rejected = make_client({**SECRETS, "secret_key": "sk_0000dead_" + "x" * 8})
    with pytest.raises(errors.AuthError):
        rejected.event_types()

    assert len(exchanges) == 9
    for exchange in exchanges:
        text = exchange_text(exchange)
        for secret in forbidden_strings():
            assert secret not in text, (exchange.operation, secret)
        assert exchange.request_headers["Authorization"] == "Basic [REDACTED]"


def test_it_keeps_the_rejected_key_out_of_the_problem(make_client, exchanges):
    bad = {"public_key": "pk_someone", "secret_key": "sk_0000dead_wrong"}
    with pytest.raises(errors.AuthError) as caught:
        make_client(bad).event_types()
    text = repr(caught.value.problem.to_dict()) + exchange_text(exchanges[-1])
    assert "sk_0000dead_wrong" not in text

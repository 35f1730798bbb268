"""Croct rows of docs/contract.md: client ids, visitor headers, library, signed tokens.

Every test runs the client (or raw requests) against the sandbox over real HTTP.
"""

from __future__ import annotations

import base64
import json
import uuid

import pytest
import requests
from cryptography.hazmat.primitives import serialization

from integrations import errors
from integrations.croct import PROVIDER, tokens
from integrations.croct.client import ContentRequest, TrackEvent
from integrations.croct.payloads import PayloadError, validate_client_id
from integrations.croct.sandbox import DEMO_SECRETS, DEMO_SETTINGS
from tests.integrations.croct.conftest import signing_api_key

KEY_ID = DEMO_SECRETS["api_key"]
APP_ID = DEMO_SETTINGS["app_id"]


def signed_client(sandbox, exchanges):
    api_key, private = signing_api_key(KEY_ID)
    client = PROVIDER.build_client(
        base_url=sandbox.url,
        settings=DEMO_SETTINGS,
        secrets={"api_key": api_key},
        hook=exchanges.append,
    )
    return client, private


def require_signed(sandbox, private, credential=KEY_ID):
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # The sandbox's control endpoint, over HTTP like the rest.
    response = requests.post(
        f"{sandbox.url}/_sandbox/signed-tokens",
        json={
            "credential": credential,
            "key_id": KEY_ID,
            "public_key": base64.b64encode(der).decode(),
        },
        timeout=5,
    )
    assert response.status_code == 200


# --- X-Client-Id ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "client_id",
    [
        uuid.uuid4().hex,  # 32-hex, as Croct's tooling writes it
        str(uuid.uuid1()),  # a version-1 UUID: "a UUID", any version
        str(uuid.uuid4()).upper(),
    ],
)
def test_any_uuid_is_a_client_id_for_content_and_evaluate(client, exchanges, client_id):
    """contract: Croct / X-Client-Id 32-hex"""
    assert validate_client_id(client_id) == client_id
    client.content(ContentRequest("home-hero", client_id=client_id))
    assert client.evaluate("true", client_id=client_id).value is True
    assert [e.request_headers["X-Client-Id"] for e in exchanges] == [client_id, client_id]


def test_the_same_client_id_keeps_the_same_experiment_variant(client):
    """contract: Croct / X-Client-Id persistent across sessions"""
    from integrations.croct.models import ContentContext

    context = ContentContext(attributes={"plan": "pro"})
    client_id = uuid.uuid4().hex
    variants = {
        client.content(ContentRequest("home-hero", client_id=client_id, context=context)).variant_id
        for _ in range(3)
    }
    assert len(variants) == 1


@pytest.mark.parametrize("bad", ["not-a-uuid", "6ba7b8109dad11d180b400c04fd430c", "g" * 32])
def test_what_is_not_a_uuid_is_refused_by_client_and_sandbox(client, http, exchanges, bad):
    """contract: Croct / X-Client-Id 32-hex"""
    with pytest.raises(PayloadError):
        client.content(ContentRequest("home-hero", client_id=bad))
    assert exchanges == []
    response = http.post(
        "/external/web/content",
        json={"slotId": "home-hero"},
        headers={"X-Api-Key": http.api_key, "X-Client-Id": bad},
    )
    assert response.status_code == 401
    assert response.json()["type"].endswith("authentication/invalid-client-id")


# --- visitor headers -----------------------------------------------------------------
def test_a_visitor_ip_and_agent_reach_content_and_evaluate(client, sandbox, exchanges):
    """contract: Croct / X-Client-Ip and X-Client-Agent"""
    agent = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)"
    client.content(
        ContentRequest(
            "home-hero", client_id=str(uuid.uuid4()), client_ip="200.160.2.3", client_agent=agent
        )
    )
    assert sandbox.app.stats()["last_visitor"]["ip"] == "200.160.2.3"
    assert sandbox.app.stats()["last_visitor"]["agent"] == agent
    client.evaluate(
        "true", client_id=str(uuid.uuid4()), client_ip="2804:14c::1", client_agent=agent
    )
    assert sandbox.app.stats()["last_visitor"] == {
        "ip": "2804:14c::1",
        "agent": agent,
        "library": "Switchyard v0.1.0",
    }
    for exchange in exchanges:
        assert exchange.request_headers["X-Client-Agent"] == agent


def test_without_visitor_headers_the_sandbox_takes_the_request_ip_and_agent(client, sandbox):
    """contract: Croct / X-Client-Ip and X-Client-Agent"""
    client.evaluate("true", client_id=str(uuid.uuid4()), client_ip="127.0.0.1")
    visitor = sandbox.app.stats()["last_visitor"]
    assert visitor["ip"] == "127.0.0.1"  # loopback falls back to the request IP
    assert visitor["agent"].startswith("python-requests")


@pytest.mark.parametrize(
    "options", [{"client_ip": "300.1.1.1"}, {"client_agent": "bad\r\nX-Injected: 1"}]
)
def test_bad_visitor_values_are_refused_before_sending(client, exchanges, options):
    """contract: Croct / X-Client-Ip and X-Client-Agent"""
    with pytest.raises(PayloadError):
        client.evaluate("true", client_id=str(uuid.uuid4()), **options)
    with pytest.raises(PayloadError):
        client.content(ContentRequest("home-hero", client_id=str(uuid.uuid4()), **options))
    assert exchanges == []


# --- X-Client-Library ----------------------------------------------------------------
def test_every_call_names_the_client_library(client, exchanges):
    """contract: Croct / X-Client-Library"""
    client_id = str(uuid.uuid4())
    client.content(ContentRequest("home-hero", client_id=client_id))
    client.static_content("home-hero")
    client.evaluate("true", client_id=client_id)
    client.track(
        TrackEvent(
            payload={"type": "goalCompleted", "goalId": "signup"},
            url="https://shop.example/",
            client_id=client_id,
        )
    )
    client.export_users(0, 10)
    libraries = {e.operation: e.request_headers.get("X-Client-Library") for e in exchanges}
    assert set(libraries.values()) == {"Switchyard v0.1.0"}
    assert len(libraries) == 5


# --- user tokens ---------------------------------------------------------------------
def test_a_signing_key_makes_es256_tokens_shaped_like_the_sdks(sandbox, exchanges):
    """contract: Croct / X-Token ES256 signed"""
    client, private = signed_client(sandbox, exchanges)
    token = client.user_token("user-1", issued_at=1_700_000_000)
    header_b64, claims_b64, signature_b64 = token.split(".")
    header = json.loads(tokens.b64url_decode(header_b64))
    # Key order as the SDK's {...headers, kid, alg}: typ, alg, appId, kid.
    assert list(header) == ["typ", "alg", "appId", "kid"]
    assert header["alg"] == "ES256"
    assert header["appId"] == APP_ID
    assert header["kid"] == tokens.key_id_hash(KEY_ID)
    assert len(tokens.b64url_decode(signature_b64)) == 64  # raw r‖s, not DER
    assert json.loads(tokens.b64url_decode(claims_b64)) == {
        "iss": "croct.io",
        "aud": "croct.io",
        "iat": 1_700_000_000,
        "sub": "user-1",
    }
    assert tokens.verify_signed_token(token, private.public_key(), leeway=10**10)["sub"] == (
        "user-1"
    )


def test_an_account_that_requires_signed_tokens_refuses_unsigned_and_serves_signed(
    client, sandbox, exchanges
):
    """contract: Croct / X-Token signed tokens enforced"""
    signing, private = signed_client(sandbox, exchanges)
    require_signed(sandbox, private)
    unsigned = client.user_token("user-1")
    with pytest.raises(errors.AuthError) as refused:
        client.content(ContentRequest("home-hero", user_token=unsigned))
    assert refused.value.problem.type_uri.endswith("invalid-token")
    with pytest.raises(errors.AuthError):
        client.evaluate("true", user_token=unsigned)

    result = signing.content(ContentRequest("home-hero", user_token=signing.user_token("user-1")))
    assert result.content
    assert signing.evaluate("true", user_token=signing.user_token("user-1")).value is True


def test_a_token_signed_by_another_key_or_tampered_is_refused(client, sandbox, exchanges):
    """contract: Croct / X-Token signed tokens enforced"""
    signing, private = signed_client(sandbox, exchanges)
    other, _ = signed_client(sandbox, exchanges)
    require_signed(sandbox, private)
    with pytest.raises(errors.AuthError):
        client.content(ContentRequest("home-hero", user_token=other.user_token("user-1")))
    header, claims, signature = signing.user_token("user-1").split(".")
    forged = tokens.b64url_encode(b'{"iss":"croct.io","aud":"croct.io","iat":1,"sub":"admin"}')
    with pytest.raises(errors.AuthError):
        client.content(ContentRequest("home-hero", user_token=f"{header}.{forged}.{signature}"))


def test_tokens_of_two_segments_are_read(client, http):
    """contract: Croct / X-Token two segments"""
    two = client.user_token("user-2").rstrip(".")
    assert two.count(".") == 1
    assert tokens.decode_token(two)[1]["sub"] == "user-2"
    assert client.evaluate("true", user_token=two).value is True
    response = http.post(
        "/external/web/evaluate",
        json={"query": "true"},
        headers={"X-Api-Key": http.api_key, "X-Token": two},
    )
    assert response.status_code == 200


def test_a_signing_key_that_does_not_load_stops_only_token_signing(sandbox):
    """contract: Croct / X-Token ES256 signed"""
    broken = PROVIDER.build_client(
        base_url=sandbox.url,
        settings=DEMO_SETTINGS,
        secrets={"api_key": f"{KEY_ID}:ES256;QUJDRA=="},
    )
    assert broken.evaluate("true", client_id=str(uuid.uuid4())).value is True
    with pytest.raises(PayloadError, match="api_key"):
        broken.user_token("user-1")

"""Contract: Croct's own JavaScript SDK (@croct/sdk, pinned) against the Croct sandbox.

The one client here nobody on the team wrote: its requests must be accepted by the
sandbox and its parser must accept every sandbox answer (content, schema, problems,
the 202 suspension). The SDK's ``baseEndpointUrl`` option replaces
``https://api.croct.io``; the SDK appends ``/external/web/…`` itself for an API key.
"""

from __future__ import annotations

import base64
import uuid

from cryptography.hazmat.primitives import serialization

from integrations.croct import PROVIDER, tokens
from integrations.croct.sandbox import DEMO_SECRETS, DEMO_SETTINGS, SUSPENSION_REASON
from tests.contract.conftest import CROCT_SDK_VERSION
from tests.integrations.croct.conftest import signing_api_key

API_KEY = DEMO_SECRETS["api_key"]
APP_ID = DEMO_SETTINGS["app_id"]
SDK_LIBRARY = f"Croct SDK JS v{CROCT_SDK_VERSION}"


def _require_signed(sandbox, private):
    sandbox.app.require_signed_tokens(API_KEY, API_KEY, private.public_key())


def test_sdk_content_is_accepted_and_parsed(run_sdk, sandbox):
    """contract: Croct / POST /external/web/content (SDK)"""
    answer = run_sdk(
        "content",
        API_KEY,
        slotId="home-hero",
        options={
            "clientId": uuid.uuid4().hex,
            "clientIp": "200.160.2.3",
            "clientAgent": "Mozilla/5.0 (iPhone)",
            "preferredLocale": "en-us",
            "version": 2,
            "context": {"timeZone": "America/Sao_Paulo", "attributes": {"plan": "pro"}},
        },
    )
    assert answer["ok"], answer
    assert answer["value"]["content"]["_component"] == "home-hero@2"
    assert answer["value"]["metadata"]["contentSource"] in ("experience", "experiment")
    assert sandbox.app.stats()["last_visitor"] == {
        "ip": "200.160.2.3",
        "agent": "Mozilla/5.0 (iPhone)",
        "library": SDK_LIBRARY,
    }


def test_sdk_content_with_schema_is_parsed(run_sdk):
    """contract: Croct / includeSchema and metadata.schema (SDK)"""
    answer = run_sdk(
        "content",
        API_KEY,
        slotId="home-hero",
        options={"clientId": str(uuid.uuid4()), "includeSchema": True},
    )
    assert answer["ok"], answer
    assert answer["value"]["metadata"]["schema"]["root"]["type"] == "structure"


def test_sdk_static_content_is_accepted_and_parsed(run_sdk):
    """contract: Croct / POST /external/web/static-content (SDK)"""
    answer = run_sdk(
        "content",
        API_KEY,
        slotId="pricing-banner",
        options={"static": True, "preferredLocale": "pt_BR", "includeSchema": True},
    )
    assert answer["ok"], answer
    assert answer["value"]["content"]["headline"] == "Preços simples"
    assert "schema" in answer["value"]["metadata"]


def test_sdk_evaluate_is_accepted_and_parsed(run_sdk, sandbox):
    """contract: Croct / POST /external/web/evaluate (SDK)"""
    answer = run_sdk(
        "evaluate",
        API_KEY,
        query="context's plan is 'pro'",
        options={"clientId": uuid.uuid4().hex, "context": {"attributes": {"plan": "pro"}}},
    )
    assert answer == {"ok": True, "value": True}
    assert sandbox.app.stats()["last_visitor"]["library"] == SDK_LIBRARY


def test_sdk_reads_the_sandbox_problems(run_sdk):
    """contract: Croct / Problem Details errors (SDK)"""
    missing = run_sdk(
        "content", API_KEY, slotId="no-such-slot", options={"clientId": str(uuid.uuid4())}
    )
    assert missing["ok"] is False
    assert missing["name"] == "ContentError"
    assert missing["response"]["status"] == 404
    assert missing["response"]["type"].startswith("https://croct.help/api/")
    assert missing["response"]["title"]

    bad_id = run_sdk("content", API_KEY, slotId="home-hero", options={"clientId": "nope"})
    assert bad_id["response"]["type"].endswith("authentication/invalid-client-id")
    assert bad_id["response"]["status"] == 401

    # The sandbox treats a key containing 0000dead as unknown.
    unknown_key = run_sdk(
        "evaluate",
        "9b1e7c4d-2a6f-4e8b-b3c5-7d9a0000dead",
        query="true",
        options={"clientId": str(uuid.uuid4())},
    )
    assert unknown_key["ok"] is False
    assert unknown_key["name"] == "EvaluationError"
    assert unknown_key["response"]["type"].endswith("authentication/unknown-api-key")

    broken = run_sdk("evaluate", API_KEY, query="user's (", options={"clientId": str(uuid.uuid4())})
    assert broken["ok"] is False
    assert broken["response"]["status"] == 422
    assert broken["response"]["errors"][0]["location"]["start"]["line"] >= 1


def test_sdk_treats_the_sandbox_suspension_as_suspended(run_sdk, sandbox):
    """contract: Croct / 202 X-Suspension-Reason (SDK)"""
    sandbox.app.suspended = True
    assert SUSPENSION_REASON == "tracking_and_personalization_suspended"
    content = run_sdk(
        "content", API_KEY, slotId="home-hero", options={"clientId": str(uuid.uuid4())}
    )
    evaluation = run_sdk("evaluate", API_KEY, query="true", options={"clientId": str(uuid.uuid4())})
    for answer in (content, evaluation):
        assert answer["ok"] is False
        assert answer["response"]["status"] == 202
        assert answer["response"]["type"].endswith("/suspended-service")


def test_sdk_signed_tokens_pass_a_sandbox_that_requires_them(run_sdk, sandbox):
    """contract: Croct / X-Token signed tokens enforced"""
    api_key, private = signing_api_key(API_KEY)
    _require_signed(sandbox, private)
    token = {"appId": APP_ID, "subject": "user-1", "sign": True}
    signed = run_sdk("contentAsUser", api_key, slotId="home-hero", token=token, options={})
    assert signed["ok"], signed
    unsigned = run_sdk(
        "evaluateAsUser", api_key, query="true", token={**token, "sign": False}, options={}
    )
    assert unsigned["ok"] is False
    assert unsigned["response"]["type"].endswith("authentication/invalid-token")


def test_console_tokens_match_the_sdks_and_verify_in_webcrypto(run_sdk, sandbox):
    """contract: Croct / X-Token ES256 signed"""
    api_key, private = signing_api_key(API_KEY)
    console = PROVIDER.build_client(
        base_url=sandbox.url, settings=DEMO_SETTINGS, secrets={"api_key": api_key}
    )
    ours = console.user_token("user-1", issued_at=1_700_000_000)
    theirs = run_sdk(
        "sdkToken", api_key, appId=APP_ID, subject="user-1", issuedAt=1_700_000_000, sign=True
    )["value"]
    # ECDSA signatures are randomized; everything before them is byte-identical.
    assert ours.rsplit(".", 1)[0] == theirs.rsplit(".", 1)[0]
    # Each side verifies the other's signature.
    assert tokens.verify_signed_token(theirs, private.public_key(), leeway=10**10)["sub"] == (
        "user-1"
    )
    spki = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    checked = run_sdk(
        "verifyPythonToken", api_key, token=ours, publicKey=base64.b64encode(spki).decode()
    )["value"]
    assert checked["valid"] is True
    assert checked["signed"] is True
    assert checked["kidMatches"] is True
    # The unsigned form too: the SDK parses the console's token as its own.
    unsigned = PROVIDER.build_client(
        base_url=sandbox.url, settings=DEMO_SETTINGS, secrets=DEMO_SECRETS
    ).user_token("user-1", issued_at=1_700_000_000)
    sdk_unsigned = run_sdk(
        "sdkToken", API_KEY, appId=APP_ID, subject="user-1", issuedAt=1_700_000_000, sign=False
    )["value"]
    assert unsigned == sdk_unsigned


def test_the_sdk_version_under_test_is_the_pinned_one(run_sdk):
    """contract: Croct / X-Client-Library (SDK)"""
    assert run_sdk("library", API_KEY) == {"ok": True, "value": SDK_LIBRARY}

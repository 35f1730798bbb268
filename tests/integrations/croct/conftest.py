"""Fixtures: one Croct sandbox served over real HTTP on 127.0.0.1 per module."""

from __future__ import annotations

import uuid

import pytest
import requests

from integrations.croct import PROVIDER
from integrations.croct.sandbox import DEMO_SECRETS, DEMO_SETTINGS, create_app
from integrations.sandbox import serve

# A fixed "today" so export windows are predictable: 2024-03-01T00:00:00Z.
ANCHOR_MS = 1_709_251_200_000
DAY_MS = 86_400_000


@pytest.fixture(scope="module")
def sandbox():
    running = serve(create_app(export_anchor_ms=ANCHOR_MS))
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def clean_sandbox(request):
    # Tests that change sandbox state (faults, suspension, credentials) must not leak.
    if "sandbox" in request.fixturenames:
        running = request.getfixturevalue("sandbox")
        running.app.reset()
    return


@pytest.fixture
def exchanges():
    return []


@pytest.fixture
def client(sandbox, exchanges):
    return PROVIDER.build_client(
        base_url=sandbox.url, settings=DEMO_SETTINGS, secrets=DEMO_SECRETS, hook=exchanges.append
    )


@pytest.fixture
def client_id():
    return str(uuid.uuid4())


@pytest.fixture
def http(sandbox):
    """Raw requests to the sandbox, for what the client would never send."""

    class Raw:
        url = sandbox.url
        api_key = DEMO_SECRETS["api_key"]
        app_id = DEMO_SETTINGS["app_id"]

        def post(self, path, *, json=None, headers=None, data=None):
            return requests.post(
                f"{sandbox.url}{path}", json=json, data=data, headers=headers, timeout=5
            )

        def get(self, path, *, params=None, headers=None):
            return requests.get(f"{sandbox.url}{path}", params=params, headers=headers, timeout=5)

        def external(self, **extra):
            return {"X-Api-Key": self.api_key, "X-Client-Id": str(uuid.uuid4()), **extra}

    return Raw()


def signing_api_key(key_id: str = "9b1e7c4d-2a6f-4e8b-b3c5-7d9a0f1e2c48"):
    """(``<key id>:ES256;<base64 PKCS#8>``, its private key): a fresh P-256 key in the
    form Croct's console hands out."""
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    private = ec.generate_private_key(ec.SECP256R1())
    der = private.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return f"{key_id}:ES256;{base64.b64encode(der).decode()}", private

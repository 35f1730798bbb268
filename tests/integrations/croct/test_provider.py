"""The provider declaration: settings, secrets, capabilities and the registry line."""

from __future__ import annotations

import pytest

from integrations.croct import PROVIDER
from integrations.croct.sandbox import DEMO_SECRETS, DEMO_SETTINGS
from integrations.provider import Capability, SettingsError
from integrations.registry import get_provider
from tests.integrations.croct.conftest import signing_api_key

KEY = "9b1e7c4d-2a6f-4e8b-b3c5-7d9a0f1e2c48"
SIGNING_KEY, _ = signing_api_key(KEY)


def test_the_registry_finds_croct():
    assert get_provider("croct") is PROVIDER
    assert PROVIDER.label == "Croct"
    assert PROVIDER.default_base_url == "https://api.croct.io"


def test_it_declares_its_capabilities():
    assert PROVIDER.capabilities == {
        Capability.PREVIEW,
        Capability.EVALUATE,
        Capability.TRACK,
        Capability.EXPORT,
        Capability.PROFILE_LOOKUP,
        Capability.VERIFY,
    }


def test_the_demo_values_pass_their_own_cleaning():
    assert PROVIDER.clean_settings(DEMO_SETTINGS) == DEMO_SETTINGS
    assert PROVIDER.clean_secrets(DEMO_SECRETS) == DEMO_SECRETS


@pytest.mark.parametrize("key", [KEY, SIGNING_KEY, f" {KEY} "])
def test_it_accepts_both_api_key_forms(key):
    assert PROVIDER.clean_secrets({"api_key": key})["api_key"] == key.strip()


@pytest.mark.parametrize(
    "key",
    ["", "abc", f"{KEY}:RS256;QUJD", f"{KEY}:ES256;", f"{KEY}x", f"{KEY}:ES256;QUJDRA=="],
)
def test_it_refuses_malformed_api_keys(key):
    with pytest.raises(SettingsError) as caught:
        PROVIDER.clean_secrets({"api_key": key})
    assert "api_key" in caught.value.errors


def test_it_requires_a_uuid_app_id():
    with pytest.raises(SettingsError) as caught:
        PROVIDER.clean_settings({"app_id": "my-app"})
    assert "app_id" in caught.value.errors


def test_secret_values_cover_the_whole_key_and_its_uuid():
    values = PROVIDER.secret_values({"api_key": f"{KEY}:ES256;QUJDRA=="})
    assert {f"{KEY}:ES256;QUJDRA==", KEY, "QUJDRA=="} <= set(values)


def test_build_client_sends_the_uuid_only():
    client = PROVIDER.build_client(
        base_url="", settings=DEMO_SETTINGS, secrets={"api_key": f"{KEY}:ES256;QUJD"}
    )
    assert client._server_headers()["X-Api-Key"] == KEY
    assert client.session.base_url == "https://api.croct.io"


def test_the_sandbox_module_is_declared():
    app = PROVIDER.sandbox_app()
    assert app.provider == "croct"

"""The Octy declaration: secrets, capabilities, registry, build_client."""

from __future__ import annotations

import pytest

from integrations.octy import PROVIDER
from integrations.octy.client import OctyClient
from integrations.octy.sandbox import DEMO_SECRETS, DEMO_SETTINGS, OctySandbox
from integrations.provider import Capability, SettingsError
from integrations.registry import get_provider


def test_it_is_registered_under_octy():
    assert get_provider("octy") is PROVIDER
    assert PROVIDER.label == "Octy"
    assert PROVIDER.default_base_url == "https://api.octy.ai"


def test_it_declares_its_capabilities():
    assert PROVIDER.capabilities == {
        Capability.TRACK,
        Capability.PROFILE_LOOKUP,
        Capability.PROFILE_BROWSE,
        Capability.PROFILE_WRITE,
        Capability.VERIFY,
    }


def test_it_accepts_the_demo_secrets_and_no_settings():
    assert PROVIDER.clean_secrets(DEMO_SECRETS) == DEMO_SECRETS
    assert PROVIDER.clean_settings(DEMO_SETTINGS) == {}


@pytest.mark.parametrize(
    ("secrets", "field"),
    [
        ({"public_key": "sk_swapped", "secret_key": "sk_x"}, "public_key"),
        ({"public_key": "pk_x", "secret_key": "pk_swapped"}, "secret_key"),
        ({"public_key": "pk_", "secret_key": "sk_x"}, "public_key"),
        ({"public_key": "pk_a:b", "secret_key": "sk_x"}, "public_key"),
        ({"public_key": "pk_x"}, "secret_key"),
    ],
)
def test_it_checks_the_key_prefixes(secrets, field):
    with pytest.raises(SettingsError) as caught:
        PROVIDER.clean_secrets(secrets)
    assert field in caught.value.errors


def test_it_builds_a_client_for_the_default_base_url():
    """contract: Octy / base URL https://api.octy.ai"""
    client = PROVIDER.build_client(base_url="", settings={}, secrets=DEMO_SECRETS)
    assert isinstance(client, OctyClient)
    assert client.session.url_for("/v1/retention/profiles") == (
        "https://api.octy.ai/v1/retention/profiles"
    )


def test_it_names_its_sandbox():
    assert isinstance(PROVIDER.sandbox_app(), OctySandbox)

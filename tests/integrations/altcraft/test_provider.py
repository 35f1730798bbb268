import dataclasses

import pytest

from integrations import errors
from integrations.altcraft import PROVIDER
from integrations.altcraft.client import AltcraftClient
from integrations.altcraft.sandbox import DEMO_SECRETS, DEMO_SETTINGS
from integrations.provider import Capability, SettingsError
from integrations.registry import get_provider
from integrations.sandbox import Fault

TOKEN = DEMO_SECRETS["token"]


def test_the_registry_loads_it():
    provider = get_provider("altcraft")
    assert provider is PROVIDER
    assert (provider.key, provider.label, provider.default_base_url) == ("altcraft", "Altcraft", "")
    assert "example.altcraft.com" in provider.base_url_help
    assert provider.capabilities == {
        Capability.PROFILE_LOOKUP,
        Capability.PROFILE_BROWSE,
        Capability.PROFILE_WRITE,
        Capability.VERIFY,
    }
    assert provider.sandbox_app().provider == "altcraft"


def test_it_cleans_the_demo_settings_and_secrets():
    assert PROVIDER.clean_settings(DEMO_SETTINGS) == {
        "db_id": 1,
        "resource_id": 1,
        "format": "json",
    }
    assert PROVIDER.clean_secrets(DEMO_SECRETS) == DEMO_SECRETS


def test_format_defaults_to_json_and_resource_is_optional():
    assert PROVIDER.clean_settings({"db_id": "3"}) == {"db_id": 3, "format": "json"}


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({}, "db_id"),
        ({"db_id": "0"}, "db_id"),
        ({"db_id": "x"}, "db_id"),
        ({"db_id": "1", "resource_id": "-2"}, "resource_id"),
        ({"db_id": "1", "format": "yaml"}, "format"),
        ({"db_id": "1", "table": "x"}, "table"),
    ],
)
def test_it_names_the_bad_setting(settings, field):
    with pytest.raises(SettingsError) as caught:
        PROVIDER.clean_settings(settings)
    assert field in caught.value.errors


@pytest.mark.parametrize("token", ["", "has spaces in the token value", "tab\tinside", "a\nb"])
def test_it_refuses_tokens_that_cannot_be_altcraft_tokens(token):
    """contract: Altcraft / token — any non-empty token without whitespace"""
    with pytest.raises(SettingsError) as caught:
        PROVIDER.clean_secrets({"token": token})
    assert "token" in caught.value.errors


@pytest.mark.parametrize("base_url", ["", "   ", "example.altcraft.com", "https://u:p@x.io"])
def test_it_needs_the_customers_own_base_url(base_url):
    with pytest.raises(SettingsError) as caught:
        PROVIDER.build_client(base_url=base_url, settings=DEMO_SETTINGS, secrets=DEMO_SECRETS)
    assert "base_url" in caught.value.errors


def test_it_builds_a_client_for_the_account(sandbox):
    client = PROVIDER.build_client(
        base_url=sandbox.url + "/",
        settings={**DEMO_SETTINGS, "format": "xml"},
        secrets=DEMO_SECRETS,
    )
    assert isinstance(client, AltcraftClient)
    assert (client.db_id, client.resource_id, client.format) == (1, 1, "xml")
    assert client.session.base_url == sandbox.url


def test_verify_lists_one_profile(client):
    assert PROVIDER.verify(client) == {"profiles_seen": 1}


def test_verify_reports_a_bad_token_as_auth(make_client):
    with pytest.raises(errors.AuthError):
        PROVIDER.verify(make_client(secrets={"token": "bfc505684d774e520000dead3cd5ed00"}))


def test_verify_reports_a_wrong_database_as_configuration(make_client):
    with pytest.raises(errors.ConfigurationError):
        PROVIDER.verify(make_client(db_id="2"))


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_no_exchange_field_ever_holds_the_token(make_client, exchanges, sandbox, fmt):
    client = make_client(fmt)
    client.get_profile("email", "ada@example.com")
    client.import_profile("email", "r@example.com", {"_fname": "R"}, request_id="x")
    client.import_profile("email", "r@example.com", {"_fname": "R"}, request_id="x")
    with pytest.raises(errors.ProviderError):
        client.get_profile("phone", "+15550000000")
    bad = make_client(fmt, secrets={"token": "bfc505684d774e520000dead3cd5ed00"})
    with pytest.raises(errors.AuthError):
        bad.list_profiles()
    sandbox.app.faults.add(Fault(kind="malformed", count=1))
    with pytest.raises(errors.MalformedResponse):
        client.list_profiles()
    assert len(exchanges) == 6
    for exchange in exchanges:
        recorded = repr(dataclasses.asdict(exchange))
        assert TOKEN not in recorded
        assert "0000dead3cd5ed00" not in recorded
    assert "[REDACTED]" in exchanges[0].request_body
    assert exchanges[2].response_headers["X-Duplicate-Request"] == "true"

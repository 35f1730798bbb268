import pytest

from integrations.commanders_act import PROVIDER
from integrations.commanders_act.client import CommandersActClient
from integrations.commanders_act.sandbox import DEMO_SECRETS, DEMO_SETTINGS
from integrations.provider import Capability, SettingsError
from integrations.registry import get_provider


def test_the_registry_finds_it():
    assert get_provider("commanders_act") is PROVIDER
    assert PROVIDER.label == "Commanders Act"
    assert PROVIDER.default_base_url == "https://collect.commander1.com"


def test_it_can_track_but_not_verify():
    assert PROVIDER.capabilities == frozenset({Capability.TRACK})
    assert not PROVIDER.can_verify()


def test_verify_explains_why_a_key_cannot_be_proven(make_client):
    with pytest.raises(NotImplementedError, match="answers 200 to every request"):
        PROVIDER.verify(make_client())


def test_the_demo_values_are_clean():
    # The demo source is one the sandbox has admitted to the batch beta.
    assert PROVIDER.clean_settings(DEMO_SETTINGS) == {"site_id": "1234", "batch_beta": "yes"}
    assert PROVIDER.clean_secrets(DEMO_SECRETS) == DEMO_SECRETS


def test_the_batch_beta_is_an_account_setting_off_by_default():
    """contract: Commanders Act / batch endpoint is a closed beta"""
    field = next(f for f in PROVIDER.settings if f.name == "batch_beta")
    assert (field.choices, field.default, field.required) == (("no", "yes"), "no", False)
    assert "batch beta" in field.label
    cleaned = PROVIDER.clean_settings({"site_id": "1"})
    assert cleaned["batch_beta"] == "no"
    assert PROVIDER.batching_enabled(cleaned) is False
    assert PROVIDER.batching_enabled({"site_id": "1"}) is False  # saved before the field
    assert PROVIDER.batching_enabled({"site_id": "1", "batch_beta": "yes"}) is True
    with pytest.raises(SettingsError) as caught:
        PROVIDER.clean_settings({"site_id": "1", "batch_beta": "maybe"})
    assert "batch_beta" in caught.value.errors
    client = PROVIDER.build_client(base_url="", settings=cleaned, secrets=DEMO_SECRETS)
    assert client.batch_beta is False


@pytest.mark.parametrize("value", ["12a", "-3", "0", "00", "1.5", "１２"])
def test_it_refuses_a_site_id_that_is_not_a_positive_number(value):
    with pytest.raises(SettingsError) as caught:
        PROVIDER.clean_settings({"site_id": value})
    assert "site_id" in caught.value.errors


def test_it_keeps_the_site_id_as_a_string():
    assert PROVIDER.clean_settings({"site_id": " 0042 "})["site_id"] == "0042"


def test_it_requires_the_site_id_and_the_source_key():
    with pytest.raises(SettingsError) as caught:
        PROVIDER.clean_settings({})
    assert caught.value.errors == {"site_id": "is required"}
    with pytest.raises(SettingsError) as caught:
        PROVIDER.clean_secrets({"source_key": "  "})
    assert caught.value.errors == {"source_key": "is required"}


def test_it_builds_a_client_on_the_default_host():
    client = PROVIDER.build_client(base_url="", settings=DEMO_SETTINGS, secrets=DEMO_SECRETS)
    assert isinstance(client, CommandersActClient)
    assert client.session.url_for("events") == "https://collect.commander1.com/events"
    assert client.site_id == "1234"


def test_its_sandbox_is_the_emulator():
    app = PROVIDER.sandbox_app()
    assert app.provider == "commanders_act"

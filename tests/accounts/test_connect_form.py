"""Connecting, editing and disabling accounts through the console's forms."""

from __future__ import annotations

import html
import importlib
import re

import pytest
from django.urls import reverse

from dashboard.accounts.encryption import decrypt_secrets
from dashboard.accounts.models import AccountCheck, ConnectedAccount, Credential
from integrations.altcraft.sandbox import DEMO_SECRETS as _ALTCRAFT
from integrations.croct.sandbox import DEMO_SECRETS as CROCT_SECRETS
from integrations.registry import get_provider

PROVIDERS = ["croct", "octy", "altcraft", "commanders_act"]

# Secrets that look like nothing else on a page, so "never echoed" can be checked.
DISTINCT_SECRETS = {
    "croct": {"api_key": "5ec7e7ca-ca7a-4a7e-8ec7-5ec7e7cafe01"},
    "octy": {"public_key": "pk_SECRETCANARY_public_77", "secret_key": "sk_SECRETCANARY_secret_88"},
    "altcraft": {"token": "SECRETCANARY_altcraft_token_0001"},
    "commanders_act": {"source_key": "SECRETCANARY-ca-source-key+/=="},
}

DEMO_ALTCRAFT_TOKEN = _ALTCRAFT["token"]


def demo_settings(provider: str) -> dict[str, str]:
    return dict(importlib.import_module(get_provider(provider).sandbox_module).DEMO_SETTINGS)


def form_data(provider: str, *, base_url: str, name: str = "", **overrides) -> dict[str, str]:
    data = {"name": name or f"{provider} form account", "base_url": base_url}
    data.update({f"setting_{k}": v for k, v in demo_settings(provider).items()})
    data.update({f"secret_{k}": v for k, v in DISTINCT_SECRETS[provider].items()})
    data.update(overrides)
    return data


def field_block(page: str, field_name: str) -> str:
    """The rendered ``_field.html`` block holding the input ``field_name``."""
    for block in page.split('<div class="field')[1:]:
        if f'name="{field_name}"' in block:
            return block.split("</div>")[0]
    raise AssertionError(f"no field {field_name!r} on the page")


def connect_url(provider: str) -> str:
    return reverse("accounts:connect_provider", args=[provider])


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def admin_client(client_for, admin):
    return client_for(admin)


# --- connecting ---------------------------------------------------------------------------
@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_valid_form_connects_the_account_with_one_active_encrypted_credential(
    admin_client, admin, sandbox, provider
):
    data = form_data(provider, base_url=sandbox[provider].url + "/", name=f"My {provider}")

    response = admin_client.post(connect_url(provider), data)

    account = ConnectedAccount.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("accounts:detail", args=[account.pk])
    assert account.provider == provider
    assert account.name == f"My {provider}"
    assert account.base_url == sandbox[provider].url  # trailing slash trimmed
    assert account.created_by == admin
    credential = Credential.objects.get()
    assert credential.account == account
    assert credential.state == "active"
    assert decrypt_secrets(credential.ciphertext) == DISTINCT_SECRETS[provider]
    for value in DISTINCT_SECRETS[provider].values():
        assert value not in credential.ciphertext
        assert value[-4:] in credential.hints.values()


def test_connecting_keeps_the_typed_provider_settings(admin_client, sandbox):
    data = form_data(
        "altcraft",
        base_url=sandbox["altcraft"].url,
        setting_db_id="42",
        setting_resource_id="7",
        setting_format="xml",
    )

    admin_client.post(connect_url("altcraft"), data)

    assert ConnectedAccount.objects.get().settings == {
        "db_id": 42,
        "resource_id": 7,
        "format": "xml",
    }


def test_a_connected_account_page_shows_only_the_last_four_characters(admin_client, sandbox):
    admin_client.post(connect_url("croct"), form_data("croct", base_url=sandbox["croct"].url))
    account = ConnectedAccount.objects.get()

    page = admin_client.get(reverse("accounts:detail", args=[account.pk])).content.decode()

    assert "…fe01" in page
    assert DISTINCT_SECRETS["croct"]["api_key"] not in page


def test_ticking_test_after_saving_queues_a_check(admin_client, sandbox):
    data = form_data("octy", base_url=sandbox["octy"].url, verify="on")

    admin_client.post(connect_url("octy"), data)

    check = AccountCheck.objects.get()
    assert check.account == ConnectedAccount.objects.get()
    assert check.status == "pending"


def test_leaving_test_after_saving_unticked_queues_nothing(admin_client, sandbox):
    admin_client.post(connect_url("octy"), form_data("octy", base_url=sandbox["octy"].url))

    assert ConnectedAccount.objects.count() == 1
    assert AccountCheck.objects.count() == 0


INVALID = [
    # (provider, overrides, field, message)
    ("croct", {"base_url": "ftp://api.example.com"}, "base_url", "must be an absolute http"),
    ("croct", {"base_url": "https://api.example.com/?x=1"}, "base_url", "query string"),
    ("croct", {"setting_app_id": "not-a-uuid"}, "setting_app_id", "must be a UUID"),
    ("croct", {"setting_app_id": ""}, "setting_app_id", "This field is required"),
    ("croct", {"secret_api_key": ""}, "secret_api_key", "This field is required"),
    ("croct", {"secret_api_key": "not-a-key"}, "secret_api_key", "must be the API key"),
    ("octy", {"base_url": "not a url"}, "base_url", "must be an absolute http"),
    ("octy", {"secret_public_key": "sk_wrong_prefix"}, "secret_public_key", "must start with pk_"),
    ("octy", {"secret_secret_key": "   "}, "secret_secret_key", "This field is required"),
    ("altcraft", {"base_url": ""}, "base_url", "This field is required"),
    ("altcraft", {"setting_db_id": "abc"}, "setting_db_id", "must be a whole number"),
    ("altcraft", {"setting_db_id": "0"}, "setting_db_id", "must be 1 or more"),
    ("altcraft", {"setting_format": "csv"}, "setting_format", "Select a valid choice"),
    ("altcraft", {"secret_token": "two words"}, "secret_token", "must be the API token"),
    ("altcraft", {"secret_token": "short"}, "secret_token", "is too short"),
    ("commanders_act", {"setting_site_id": "12ab"}, "setting_site_id", "digits only"),
    ("commanders_act", {"secret_source_key": ""}, "secret_source_key", "This field is required"),
]


@pytest.mark.parametrize(
    ("provider", "overrides", "field", "message"),
    INVALID,
    ids=[f"{p}-{f}-{next(iter(o.values())) or 'empty'}" for p, o, f, _ in INVALID],
)
def test_invalid_input_re_renders_with_the_message_next_to_the_field_and_saves_nothing(
    admin_client, sandbox, provider, overrides, field, message
):
    data = form_data(provider, base_url=sandbox[provider].url, name="Typed name")
    data.update(overrides)

    response = admin_client.post(connect_url(provider), data)

    assert response.status_code == 422
    assert ConnectedAccount.objects.count() == 0
    assert Credential.objects.count() == 0
    page = response.content.decode()
    block = field_block(page, field)
    assert "has-error" in block.split(">")[0]
    assert message in html.unescape(block)
    # What was typed (except secrets) is still there to correct.
    assert 'value="Typed name"' in field_block(page, "name")
    for value in DISTINCT_SECRETS[provider].values():
        assert value not in page
        assert html.escape(value) not in page


def test_the_typed_settings_and_base_url_are_kept_when_the_form_is_refused(admin_client, sandbox):
    data = form_data(
        "altcraft",
        base_url="https://crm.example.com",
        setting_db_id="abc",
        setting_resource_id="17",
    )

    response = admin_client.post(connect_url("altcraft"), data)

    page = response.content.decode()
    assert response.status_code == 422
    assert 'value="https://crm.example.com"' in field_block(page, "base_url")
    assert 'value="abc"' in field_block(page, "setting_db_id")
    assert 'value="17"' in field_block(page, "setting_resource_id")
    assert re.search(r'<input type="password" name="secret_token"(?![^>]*value=)', page)


def test_a_duplicate_account_name_is_refused(admin_client, sandbox, demo_account):
    demo_account("croct", name="Croct prod")

    response = admin_client.post(
        connect_url("octy"), form_data("octy", base_url=sandbox["octy"].url, name="Croct prod")
    )

    assert response.status_code == 422
    assert "an account named 'Croct prod' already exists" in html.unescape(
        field_block(response.content.decode(), "name")
    )
    assert ConnectedAccount.objects.count() == 1
    assert Credential.objects.count() == 1
    for value in DISTINCT_SECRETS["octy"].values():
        assert value not in response.content.decode()


def test_the_connect_form_asks_for_each_provider_s_settings_and_secrets(admin_client):
    page = admin_client.get(connect_url("altcraft")).content.decode()

    for name in ("name", "base_url", "setting_db_id", "setting_resource_id", "setting_format"):
        assert f'name="{name}"' in page
    assert re.search(r'<input type="password" name="secret_token"', page)


def test_an_unknown_provider_is_not_found(admin_client):
    assert admin_client.get(connect_url("myspace")).status_code == 404
    assert admin_client.post(connect_url("myspace"), {"name": "x"}).status_code == 404


def test_the_provider_picker_lists_every_provider(admin_client):
    page = admin_client.get(reverse("accounts:connect")).content.decode()

    for provider in PROVIDERS:
        assert f'data-testid="provider-{provider}"' in page
        assert connect_url(provider) in page


# --- editing --------------------------------------------------------------------------------
def test_the_edit_form_asks_for_the_key_only_to_move_the_account(admin_client, demo_account):
    account = demo_account("octy")

    page = admin_client.get(reverse("accounts:edit", args=[account.pk])).content.decode()

    # Empty, optional fields: the stored key is never shown or required for an edit.
    assert 'name="secret_secret_key"' in page
    assert "Only when you change the base URL" in page
    assert "required" not in page.split('name="secret_secret_key"')[0].rsplit("<input", 1)[1]
    assert f'value="{account.name}"' in page


def test_editing_changes_name_base_url_and_settings_but_not_the_credential(
    admin_client, demo_account, sandbox
):
    account = demo_account("altcraft", name="Before")
    credential = Credential.objects.get(account=account)

    response = admin_client.post(
        reverse("accounts:edit", args=[account.pk]),
        {
            "name": "After",
            "base_url": "https://crm.example.com/",
            "setting_db_id": "9",
            "setting_resource_id": "",
            "setting_format": "xml",
            # A new base URL takes the current key typed again (#15 finding 9).
            "secret_token": DEMO_ALTCRAFT_TOKEN,
        },
    )

    assert response.status_code == 302
    assert response.url == reverse("accounts:detail", args=[account.pk])
    account.refresh_from_db()
    assert account.name == "After"
    assert account.base_url == "https://crm.example.com"
    assert account.settings == {"db_id": 9, "format": "xml"}
    assert list(Credential.objects.filter(account=account)) == [credential]
    assert Credential.objects.get().ciphertext == credential.ciphertext


def test_editing_keeps_the_account_s_own_name(admin_client, demo_account):
    account = demo_account("croct", name="Keep me")

    response = admin_client.post(
        reverse("accounts:edit", args=[account.pk]),
        {
            "name": "Keep me",
            "base_url": "https://api.croct.io",
            "setting_app_id": account.settings["app_id"],
            "secret_api_key": CROCT_SECRETS["api_key"],  # a move takes the key again
        },
    )

    assert response.status_code == 302
    account.refresh_from_db()
    assert account.base_url == "https://api.croct.io"


def test_an_invalid_edit_is_refused_and_changes_nothing(admin_client, demo_account):
    account = demo_account("croct", name="Original")
    demo_account("octy", name="Taken")
    before = ConnectedAccount.objects.values().get(pk=account.pk)

    response = admin_client.post(
        reverse("accounts:edit", args=[account.pk]),
        {"name": "Taken", "base_url": "javascript:alert(1)", "setting_app_id": "nope"},
    )

    assert response.status_code == 422
    page = html.unescape(response.content.decode())
    assert "already exists" in field_block(page, "name")
    assert "must be an absolute http" in field_block(page, "base_url")
    assert "must be a UUID" in field_block(page, "setting_app_id")
    assert ConnectedAccount.objects.values().get(pk=account.pk) == before


# --- enabling and disabling --------------------------------------------------------------
def test_the_toggle_disables_and_enables_an_account(admin_client, demo_account):
    account = demo_account("croct")
    url = reverse("accounts:toggle", args=[account.pk])
    detail = reverse("accounts:detail", args=[account.pk])

    response = admin_client.post(url)

    assert response.status_code == 302
    assert response.url == detail
    account.refresh_from_db()
    assert account.is_enabled is False
    page = admin_client.get(detail).content.decode()
    assert "is now disabled" in page
    assert '<span class="badge disabled">disabled</span>' in page
    assert ">Enable</button>" in page

    admin_client.post(url)

    account.refresh_from_db()
    assert account.is_enabled is True
    page = admin_client.get(detail).content.decode()
    assert "is now enabled" in page
    assert '<span class="badge disabled">' not in page


def test_the_toggle_only_answers_post(admin_client, demo_account):
    account = demo_account("croct")

    response = admin_client.get(reverse("accounts:toggle", args=[account.pk]))

    assert response.status_code == 405
    account.refresh_from_db()
    assert account.is_enabled is True


def test_the_base_url_help_names_the_sandbox_this_console_mounts(admin_client, settings):
    """#16 defect 4: the help named 127.0.0.1:8101, where nothing listens under make run."""
    page = html.unescape(
        admin_client.get(reverse("accounts:connect_provider", args=["croct"])).content.decode()
    )
    assert "This console's own Croct sandbox answers at http://testserver/sandbox/croct/" in page
    assert "8101" not in page

    settings.SANDBOX_ENABLED = False
    page = admin_client.get(reverse("accounts:connect_provider", args=["croct"])).content.decode()
    assert "own Croct sandbox" not in page


def _move(admin_client, account, **secret):
    return admin_client.post(
        reverse("accounts:edit", args=[account.pk]),
        {"name": account.name, "base_url": "https://crm.example.com/", "setting_db_id": "1",
         "setting_format": "json", **secret},
    )  # fmt: skip


def test_a_new_base_url_without_the_key_typed_again_is_refused(admin_client, demo_account):
    """#15 finding 9: pointing an account at another host must not hand it the key."""
    account = demo_account("altcraft", name="Keep key")
    before = account.base_url

    response = _move(admin_client, account)
    wrong = _move(admin_client, account, secret_token="not-the-current-token-0000")

    assert response.status_code == 422
    assert "needs the account&#x27;s current key typed again" in response.content.decode()
    assert wrong.status_code == 422
    assert "is not the key this account uses now" in wrong.content.decode()
    account.refresh_from_db()
    assert account.base_url == before


def test_moving_with_the_current_key_is_saved_and_audited_as_a_move(admin_client, demo_account):
    from auditlog.models import LogEntry

    account = demo_account("altcraft", name="Mover")
    response = _move(admin_client, account, secret_token=DEMO_ALTCRAFT_TOKEN)

    assert response.status_code == 302
    account.refresh_from_db()
    assert account.base_url == "https://crm.example.com"
    entry = LogEntry.objects.filter(object_pk=str(account.pk)).latest("timestamp")
    assert "move" in str(entry.additional_data)


def test_an_octy_account_needs_https_on_the_form(admin_client, sandbox):
    """contract: Octy's "All requests must be made over an SSL protocol", shown at the field."""
    response = admin_client.post(
        connect_url("octy"),
        {"name": "Plain", "base_url": "http://api.octy.example", "secret_public_key": "pk_x" * 4,
         "secret_secret_key": "sk_x" * 4},
    )  # fmt: skip
    assert response.status_code == 422
    assert "must start with https://" in html.unescape(response.content.decode())

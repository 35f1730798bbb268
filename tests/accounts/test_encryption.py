"""Provider secrets at rest: MultiFernet over FIELD_ENCRYPTION_KEYS (newest first)."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from dashboard.accounts.encryption import (
    SecretDecryptionError,
    decrypt_secrets,
    encrypt_secrets,
    reencrypt,
)

SECRETS = {"api_key": "9b1e7c4d-2a6f-4e8b-b3c5-7d9a0f1e2c48", "other": "sk_plain_text_value"}


@pytest.fixture
def old_key():
    return Fernet.generate_key().decode()


@pytest.fixture
def new_key():
    return Fernet.generate_key().decode()


def test_secrets_survive_a_round_trip(settings, old_key):
    settings.FIELD_ENCRYPTION_KEYS = [old_key]

    assert decrypt_secrets(encrypt_secrets(SECRETS)) == SECRETS


def test_the_ciphertext_never_contains_the_plaintext(settings, old_key):
    settings.FIELD_ENCRYPTION_KEYS = [old_key]

    ciphertext = encrypt_secrets(SECRETS)

    for value in SECRETS.values():
        assert value not in ciphertext
    assert "api_key" not in ciphertext
    # Two encryptions of the same secrets differ (Fernet uses a fresh IV each time).
    assert encrypt_secrets(SECRETS) != ciphertext


def test_a_wrong_key_raises_secret_decryption_error(settings, old_key, new_key):
    settings.FIELD_ENCRYPTION_KEYS = [old_key]
    ciphertext = encrypt_secrets(SECRETS)
    settings.FIELD_ENCRYPTION_KEYS = [new_key]

    with pytest.raises(SecretDecryptionError) as excinfo:
        decrypt_secrets(ciphertext)
    # The error never hands the ciphertext (or anything of the secret) back.
    assert ciphertext not in str(excinfo.value)
    assert SECRETS["api_key"] not in str(excinfo.value)


def test_an_older_key_later_in_the_list_still_decrypts(settings, old_key, new_key):
    settings.FIELD_ENCRYPTION_KEYS = [old_key]
    ciphertext = encrypt_secrets(SECRETS)
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]

    assert decrypt_secrets(ciphertext) == SECRETS


def test_encryption_uses_the_newest_key(settings, old_key, new_key):
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]
    ciphertext = encrypt_secrets(SECRETS)
    settings.FIELD_ENCRYPTION_KEYS = [new_key]

    assert decrypt_secrets(ciphertext) == SECRETS


def test_reencrypt_moves_a_value_to_the_newest_key_so_the_old_one_can_be_dropped(
    settings, old_key, new_key
):
    settings.FIELD_ENCRYPTION_KEYS = [old_key]
    under_old = encrypt_secrets(SECRETS)
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]

    under_new = reencrypt(under_old)

    assert under_new != under_old
    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key is dropped
    assert decrypt_secrets(under_new) == SECRETS
    with pytest.raises(SecretDecryptionError):
        decrypt_secrets(under_old)


def test_reencrypt_refuses_a_value_no_key_opens(settings, old_key, new_key):
    settings.FIELD_ENCRYPTION_KEYS = [old_key]
    ciphertext = encrypt_secrets(SECRETS)
    settings.FIELD_ENCRYPTION_KEYS = [new_key]

    with pytest.raises(SecretDecryptionError):
        reencrypt(ciphertext)

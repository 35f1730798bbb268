"""Provider secrets at rest: MultiFernet over ``FIELD_ENCRYPTION_KEYS`` (newest first).

Encryption always uses the newest key; decryption tries each key, so rotating the
encryption key is: prepend a new key, run ``manage.py reencrypt_credentials``, then
drop the old one. A value no key can open raises :class:`SecretDecryptionError`;
ciphertext is never handed back in its place.
"""

from __future__ import annotations

import json
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class SecretDecryptionError(Exception):
    """None of the configured keys opens this ciphertext."""


@cache
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty")
    try:
        return MultiFernet([Fernet(k.encode() if isinstance(k, str) else k) for k in keys])
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS must be comma-separated Fernet keys "
            "(32 url-safe base64-encoded bytes each)"
        ) from exc


def fernet() -> MultiFernet:
    return _fernet_for(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt_secrets(secrets: dict[str, str]) -> str:
    return fernet().encrypt(json.dumps(secrets, sort_keys=True).encode()).decode()


def decrypt_secrets(ciphertext: str) -> dict[str, str]:
    try:
        return json.loads(fernet().decrypt(ciphertext.encode()))
    except InvalidToken:
        raise SecretDecryptionError(
            "A stored secret could not be decrypted with any key in FIELD_ENCRYPTION_KEYS"
        ) from None


def reencrypt(ciphertext: str) -> str:
    """The same secret under the newest key (raises when no key opens it)."""
    try:
        return fernet().rotate(ciphertext.encode()).decode()
    except InvalidToken:
        raise SecretDecryptionError(
            "A stored secret could not be decrypted with any key in FIELD_ENCRYPTION_KEYS"
        ) from None

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


def reencrypt_rows(queryset, rewrite) -> dict:
    """Re-encrypt each row of ``queryset`` under the newest key, one locked row at a
    time. ``rewrite(row)`` returns the field values to store (``None``: nothing is
    encrypted in this row) and raises :class:`SecretDecryptionError` for a row no key
    opens; such rows are left untouched. Returns ``reencrypted``, ``empty``, ``failed``
    counts and ``failed_ids``."""
    from django.db import transaction

    counts = {"reencrypted": 0, "empty": 0, "failed": 0, "failed_ids": []}
    model = queryset.model
    for pk in queryset.order_by("pk").values_list("pk", flat=True).iterator():
        with transaction.atomic():
            # Locked: a concurrent write of the same row waits, and a failure leaves
            # the rows already done.
            row = model.objects.select_for_update().filter(pk=pk).first()
            if row is None:
                continue
            try:
                values = rewrite(row)
            except SecretDecryptionError:
                counts["failed"] += 1
                counts["failed_ids"].append(pk)
                continue
            if values is None:
                counts["empty"] += 1
                continue
            # update(): no save() signals, so no audit row carries ciphertext.
            model.objects.filter(pk=pk).update(**values)
            counts["reencrypted"] += 1
    return counts

"""Re-encrypt every stored secret with the newest key in FIELD_ENCRYPTION_KEYS.

    manage.py reencrypt_credentials [--json]

Run after prepending a new encryption key; afterwards the old key can be removed from
the list. Covers provider credentials, two-factor secrets (TOTP secrets and
recovery-code seeds) and alert destinations (targets and webhook signing secrets).
Reports counts: for credentials at the top level (reencrypted, already wiped, failed),
then ``two_factor`` and ``alert_destinations``. Exit status 0 when every stored secret
is now under the newest key, 1 when some could not be decrypted with any configured
key (they are left untouched and listed by id).

It lives in the overview app, the top of the graph, because it reaches every app that
encrypts with these keys (accounts, team, alerts).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from dashboard.accounts.encryption import reencrypt, reencrypt_rows
from dashboard.accounts.management.commands._common import emit
from dashboard.accounts.models import Credential

# The other apps that encrypt with the same keys; the key rotation is one step for all.
from dashboard.alerts.services import destination_secrets_reencrypt
from dashboard.team.services import mfa_secrets_reencrypt


def _credential_rewrite(row: Credential) -> dict | None:
    if not row.ciphertext:
        return None  # revoked: the secret was wiped, nothing left to encrypt
    return {"ciphertext": reencrypt(row.ciphertext)}


def _without_empty(counts: dict) -> dict:
    return {key: value for key, value in counts.items() if key != "empty"}


class Command(BaseCommand):
    help = "Re-encrypt every stored secret (credentials, two-factor, alerts) with the newest key."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", dest="as_json")

    def handle(self, *args, as_json, **options):
        credentials = reencrypt_rows(Credential.objects.all(), _credential_rewrite)
        two_factor = _without_empty(mfa_secrets_reencrypt())
        destinations = _without_empty(destination_secrets_reencrypt())
        result = {
            "reencrypted": credentials["reencrypted"],
            "wiped": credentials["empty"],
            "failed": credentials["failed"],
            "failed_ids": credentials["failed_ids"],
            "two_factor": two_factor,
            "alert_destinations": destinations,
        }
        emit(
            self,
            result,
            as_json=as_json,
            text=(
                f"Re-encrypted {credentials['reencrypted']} credential(s); "
                f"{credentials['empty']} already wiped; {credentials['failed']} failed. "
                f"Two-factor: {two_factor['reencrypted']} re-encrypted, "
                f"{two_factor['failed']} failed. Alert destinations: "
                f"{destinations['reencrypted']} re-encrypted, {destinations['failed']} failed."
            ),
        )
        failures = [
            f"{label} {counts['failed_ids']}"
            for label, counts in (
                ("credential ids", credentials),
                ("two-factor authenticator ids", two_factor),
                ("alert destination ids", destinations),
            )
            if counts["failed_ids"]
        ]
        if failures:
            raise CommandError(
                "Some stored secrets could not be decrypted with any key in "
                f"FIELD_ENCRYPTION_KEYS ({'; '.join(failures)}); keep the old key until "
                "they are fixed or discarded."
            )

"""Re-encrypt every stored secret with the newest key in FIELD_ENCRYPTION_KEYS.

    manage.py reencrypt_credentials [--json]

Run after prepending a new encryption key; afterwards the old key can be removed from
the list. Reports counts (reencrypted, already wiped, failed). Exit status 0 when every
stored secret is now under the newest key, 1 when some could not be decrypted with any
configured key (they are left untouched and listed by credential id).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from dashboard.accounts.encryption import SecretDecryptionError, reencrypt
from dashboard.accounts.management.commands._common import emit
from dashboard.accounts.models import Credential


class Command(BaseCommand):
    help = "Re-encrypt every stored provider secret with the newest encryption key."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", dest="as_json")

    def handle(self, *args, as_json, **options):
        counts = {"reencrypted": 0, "wiped": 0, "failed": 0}
        failed_ids: list[int] = []
        for pk in Credential.objects.order_by("pk").values_list("pk", flat=True).iterator():
            with transaction.atomic():
                # Row by row, locked: a rotation writing the same row waits, and a
                # failure leaves the other rows done.
                row = Credential.objects.select_for_update().filter(pk=pk).first()
                if row is None:
                    continue
                if not row.ciphertext:
                    counts["wiped"] += 1
                    continue
                try:
                    ciphertext = reencrypt(row.ciphertext)
                except SecretDecryptionError:
                    counts["failed"] += 1
                    failed_ids.append(pk)
                    continue
                # update(): the ciphertext is excluded from the audit trail anyway.
                Credential.objects.filter(pk=pk).update(ciphertext=ciphertext)
                counts["reencrypted"] += 1
        result = {**counts, "failed_ids": failed_ids}
        emit(
            self,
            result,
            as_json=as_json,
            text=(
                f"Re-encrypted {counts['reencrypted']} credential(s); "
                f"{counts['wiped']} already wiped; {counts['failed']} failed"
            ),
        )
        if failed_ids:
            raise CommandError(
                f"{len(failed_ids)} credential(s) could not be decrypted with any key in "
                f"FIELD_ENCRYPTION_KEYS (ids {failed_ids}); keep the old key until they are "
                "fixed or discarded."
            )

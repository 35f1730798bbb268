"""Rotate an account's key from a script, with the same lifecycle as the console.

    manage.py rotate_credential ACCOUNT --secret K=V [--secret K=V] \
        [--overlap-hours N] [--confirm-unverified] [--json]

ACCOUNT is the account's name or id. The new key is stored pending and verified
in-process; when it passes it is promoted and the old key keeps working for the
overlap window. Exit status: 0 the new key is active; 1 verification failed (the old
key stays active, the new one is left ``failed``); 2 bad input (nothing saved);
3 another rotation of the account is in progress (nothing saved). Providers that
cannot verify keys (Commanders Act) need ``--confirm-unverified`` to promote.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from dashboard.accounts import rotation
from dashboard.accounts.management.commands._common import emit, parse_pairs
from dashboard.accounts.models import ConnectedAccount, CredentialState
from dashboard.accounts.services import AccountInputError

BY = "command rotate_credential"


def find_account(ref: str) -> ConnectedAccount:
    account = ConnectedAccount.objects.filter(name=ref).first()
    if account is None and ref.isdigit():
        account = ConnectedAccount.objects.filter(pk=int(ref)).first()
    if account is None:
        raise CommandError(f"No account named {ref!r}", returncode=2)
    return account


class Command(BaseCommand):
    help = "Rotate an account's provider key (verify, promote, keep the old one for a window)."

    def add_arguments(self, parser):
        parser.add_argument("account", help="The account's name or id.")
        parser.add_argument("--secret", action="append", metavar="K=V", default=[])
        parser.add_argument("--overlap-hours", type=int, default=None)
        parser.add_argument(
            "--confirm-unverified",
            action="store_true",
            help="Promote without verification, for providers that cannot verify keys.",
        )
        parser.add_argument("--json", action="store_true", dest="as_json")

    def handle(self, *args, account, secret, overlap_hours, confirm_unverified, as_json, **opts):
        account = find_account(account)
        secrets = parse_pairs(secret, "--secret")
        provider_class = account.provider_class
        if not provider_class.can_verify() and not confirm_unverified:
            raise CommandError(
                f"{provider_class.verify_unsupported_reason} Pass --confirm-unverified to "
                "promote the new key without verification. Nothing saved.",
                returncode=2,
            )
        try:
            credential = rotation.credential_add(
                account=account,
                secrets=secrets,
                overlap_hours=overlap_hours,
                by=BY,
                enqueue=False,
            )
        except AccountInputError as exc:
            raise CommandError(
                "Nothing saved: " + "; ".join(f"{k}: {v}" for k, v in exc.errors.items()),
                returncode=2,
            ) from None
        except rotation.RotationConflict as exc:
            raise CommandError(f"Nothing saved: {exc}", returncode=3) from None
        result: dict = {"account": account.name, "account_id": account.pk}
        if provider_class.can_verify():
            check = rotation.latest_verification(credential)
            credential = rotation.credential_verify_run(check_id=check.pk, by=BY)
            check.refresh_from_db()
            result["verification"] = {"status": check.status, "problem": check.problem}
        else:
            credential = rotation.credential_promote(credential=credential, by=BY, confirmed=True)
            result["verification"] = {"status": "unsupported", "problem": None}
        previous = account.credentials.filter(state=CredentialState.PREVIOUS).first()
        result["credential"] = {
            "id": credential.pk,
            "fingerprint": credential.fingerprint,
            "state": credential.state,
            "overlap_hours": credential.overlap_hours,
        }
        result["previous"] = (
            {"fingerprint": previous.fingerprint, "until": previous.previous_until}
            if previous and credential.state == CredentialState.ACTIVE
            else None
        )
        if credential.state != CredentialState.ACTIVE:
            emit(self, result, as_json=as_json, text=f"Key {credential.fingerprint} not promoted")
            title = (credential.problem or {}).get("title", "")
            raise CommandError(
                f"Verification failed: {title}. The previous key is still active.", returncode=1
            )
        until = result["previous"]["until"] if result["previous"] else None
        emit(
            self,
            result,
            as_json=as_json,
            text=f"Key {credential.fingerprint} is active on {account.name}"
            + (f"; the previous key works until {until:%Y-%m-%d %H:%M %Z}" if until else ""),
        )

"""Connect a provider account from a script.

    manage.py connect_account --provider croct --name "Croct prod" \
        --setting app_id=... --secret api_key=... [--base-url URL] [--verify] [--json]

Saves nothing and exits non-zero on bad input. Calls the provider only with
``--verify`` (in-process), and then exits non-zero when verification fails.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from dashboard.accounts.management.commands._common import emit, parse_pairs
from dashboard.accounts.models import AccountCheck, CheckStatus
from dashboard.accounts.services import AccountInputError, account_check_run, account_connect
from integrations.registry import PROVIDER_PATHS


class Command(BaseCommand):
    help = "Connect a provider account (secrets are stored encrypted, never printed)."

    def add_arguments(self, parser):
        parser.add_argument("--provider", required=True, choices=sorted(PROVIDER_PATHS))
        parser.add_argument("--name", required=True)
        parser.add_argument("--base-url", default="")
        parser.add_argument("--setting", action="append", metavar="K=V", default=[])
        parser.add_argument("--secret", action="append", metavar="K=V", default=[])
        parser.add_argument("--verify", action="store_true", help="Prove the credential now.")
        parser.add_argument("--json", action="store_true", dest="as_json")

    def handle(self, *args, provider, name, base_url, setting, secret, verify, as_json, **opts):
        settings = parse_pairs(setting, "--setting")
        secrets = parse_pairs(secret, "--secret")
        try:
            with transaction.atomic():
                account = account_connect(
                    provider=provider,
                    name=name,
                    base_url=base_url,
                    settings=settings,
                    secrets=secrets,
                    by="command connect_account",
                )
        except AccountInputError as exc:
            raise CommandError(
                "Nothing saved: " + "; ".join(f"{k}: {v}" for k, v in exc.errors.items())
            ) from None
        result = {"id": account.pk, "name": account.name, "provider": account.provider}
        if verify:
            check = AccountCheck.objects.create(account=account)
            check = account_check_run(check_id=check.pk)
            result["verification"] = {"status": check.status, "problem": check.problem}
            if check.status != CheckStatus.OK:
                emit(self, result, as_json=as_json, text=f"Connected {account.name}")
                reason = (check.problem or {}).get("title") or check.summary.get("reason", "")
                raise CommandError(f"Verification {check.status}: {reason}")
        emit(self, result, as_json=as_json, text=f"Connected {account.name} (id {account.pk})")

"""List connected accounts with provider, health and the last four characters of each
active secret — never a secret."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from dashboard.accounts.management.commands._common import emit
from dashboard.accounts.models import ConnectedAccount, CredentialState


class Command(BaseCommand):
    help = "List connected accounts (no secrets)."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", dest="as_json")

    def handle(self, *args, as_json, **options):
        rows = []
        for account in ConnectedAccount.objects.prefetch_related("credentials").order_by("name"):
            active = next(
                (c for c in account.credentials.all() if c.state == CredentialState.ACTIVE), None
            )
            rows.append(
                {
                    "name": account.name,
                    "provider": account.provider,
                    "base_url": account.base_url,
                    "health": account.health,
                    "enabled": account.is_enabled,
                    "secrets_last4": active.hints if active else {},
                    "fingerprint": active.fingerprint if active else None,
                }
            )
        text = (
            "\n".join(
                f"{r['name']:<30} {r['provider']:<15} {r['health']:<13} "
                + ", ".join(f"{k} …{v}" for k, v in sorted(r["secrets_last4"].items()))
                for r in rows
            )
            or "No accounts."
        )
        emit(self, rows, as_json=as_json, text=text)

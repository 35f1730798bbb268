"""Reads about connected accounts."""

from __future__ import annotations

from django.db.models import Max, QuerySet

from dashboard.accounts.models import AccountCheck, ConnectedAccount, Credential
from dashboard.calls.models import ApiCall
from dashboard.core.roles import perm


def account_list() -> QuerySet[ConnectedAccount]:
    return ConnectedAccount.objects.order_by("name")


def accounts_overview(*, user) -> list[dict]:
    """Each account with its health and latest check, for the Overview page."""
    accounts = list(account_list())
    latest: dict[int, AccountCheck] = {}
    for check in AccountCheck.objects.filter(
        pk__in=[
            row["last"] for row in AccountCheck.objects.values("account").annotate(last=Max("pk"))
        ]
    ):
        latest[check.account_id] = check
    return [{"account": a, "last_check": latest.get(a.pk)} for a in accounts]


def credentials_for(*, account: ConnectedAccount, user) -> list[dict]:
    """Credential metadata (never secrets) with last use from the call log; admins only."""
    if not user.has_perm(perm("manage_accounts")):
        return []
    credentials = list(account.credentials.all())
    last_used = dict(
        ApiCall.objects.filter(
            account=account, credential_fingerprint__in=[c.fingerprint for c in credentials]
        )
        .values("credential_fingerprint")
        .annotate(last=Max("started_at"))
        .values_list("credential_fingerprint", "last")
    )
    return [{"credential": c, "last_used_at": last_used.get(c.fingerprint)} for c in credentials]


def recent_checks(*, account: ConnectedAccount, limit: int = 10) -> list[AccountCheck]:
    return list(account.checks.select_related("credential")[:limit])


def active_credential_hints(account: ConnectedAccount) -> str:
    credential: Credential | None = account.credentials.filter(state="active").first()
    return credential.hint_text if credential else ""

"""Reads about connected accounts."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings as django_settings
from django.db.models import Max, OuterRef, QuerySet, Subquery
from django.utils import timezone

from dashboard.accounts.models import (
    AccountCheck,
    ConnectedAccount,
    Credential,
    CredentialState,
    Health,
)
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
    credentials = list(account.credentials.select_related("created_by"))
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


def _last_used_subquery() -> Subquery:
    return Subquery(
        ApiCall.objects.filter(
            account=OuterRef("account"), credential_fingerprint=OuterRef("fingerprint")
        )
        .order_by("-started_at")
        .values("started_at")[:1]
    )


def credentials_due_for_rotation(max_age_days: int | None = None) -> list[Credential]:
    """Active keys added more than ``max_age_days`` (default
    ``settings.CREDENTIAL_MAX_AGE_DAYS``) ago, oldest first, each with its ``account``
    and ``last_used`` (from the call log; None when never used). Metadata only."""
    days = django_settings.CREDENTIAL_MAX_AGE_DAYS if max_age_days is None else max_age_days
    cutoff = timezone.now() - timedelta(days=days)
    return list(
        Credential.objects.filter(state=CredentialState.ACTIVE, created_at__lt=cutoff)
        .select_related("account")
        .annotate(last_used=_last_used_subquery())
        .order_by("created_at", "pk")
    )


def accounts_with_failed_checks() -> list[dict]:
    """Accounts whose last check of their active key failed, by name: dicts with
    ``account`` and ``check`` (that failed AccountCheck, with its ``problem``). Two
    queries, however many accounts fail."""
    accounts = list(
        ConnectedAccount.objects.filter(health=Health.FAILING)
        .annotate(failed_check_pk=last_failed_check_subquery())
        .order_by("name")
    )
    checks = AccountCheck.objects.in_bulk(
        [a.failed_check_pk for a in accounts if a.failed_check_pk]
    )
    return [{"account": a, "check": checks.get(a.failed_check_pk)} for a in accounts]


def last_check_subquery() -> Subquery:
    """The pk of the account's newest check (per account row: one probe of the
    account + requested_at index; ``requested_at`` is set once, at creation)."""
    return Subquery(
        AccountCheck.objects.filter(account=OuterRef("pk"))
        .order_by("-requested_at", "-pk")
        .values("pk")[:1]
    )


def last_failed_check_subquery() -> Subquery:
    """The pk of the account's newest failed check of a key in use (a key still being
    verified, or one whose verification failed, is not the account failing)."""
    return Subquery(
        AccountCheck.objects.filter(account=OuterRef("pk"), status="failed")
        .exclude(credential__state__in=[CredentialState.PENDING, CredentialState.FAILED])
        .order_by("-requested_at", "-pk")
        .values("pk")[:1]
    )


# Keys not yet active nor done with: pending (being verified or awaiting confirmation)
# and failed ones (to retry or discard).
IN_PROGRESS_STATES = (CredentialState.PENDING, CredentialState.FAILED)


def errors_since_rotation(account: ConnectedAccount) -> dict | None:
    """While the previous key is still in its overlap window: the auth failures of the
    new key since it became active (``count``, ``latest`` ApiCall, ``previous``
    credential). None when there is no window or no such failure."""
    previous = (
        account.credentials.filter(
            state=CredentialState.PREVIOUS, previous_until__gt=timezone.now()
        )
        .order_by("-previous_until")
        .first()
    )
    active = account.credentials.filter(state=CredentialState.ACTIVE).first()
    if previous is None or active is None or active.activated_at is None:
        return None
    failures = ApiCall.objects.filter(
        account=account,
        credential_fingerprint=active.fingerprint,
        outcome="failed",
        problem_kind="auth",
        started_at__gte=active.activated_at,
    ).order_by("-started_at", "-id")
    count = failures.count()
    if not count:
        return None
    return {"count": count, "latest": failures.first(), "previous": previous, "active": active}


# --- read by alerts (#18) --------------------------------------------------------------
def failed_verifications_since(since) -> list[AccountCheck]:
    """Verification checks of a new key that failed since ``since``, with the key and
    its account (the key is still ``failed``: nobody retried or discarded it yet)."""
    return list(
        AccountCheck.objects.filter(
            status="failed", finished_at__gte=since, credential__state=CredentialState.FAILED
        ).select_related("credential", "account")
    )


def overlap_windows_ending(*, before) -> list[Credential]:
    """Previous keys whose overlap window ends between now and ``before``, each with
    ``last_used`` (the newest call made with it, from the call log index)."""
    return list(
        Credential.objects.filter(
            state=CredentialState.PREVIOUS,
            previous_until__gt=timezone.now(),
            previous_until__lte=before,
        )
        .select_related("account")
        .annotate(last_used=_last_used_subquery())
    )


def latest_check_statuses(*, limit: int) -> dict[int, tuple[ConnectedAccount, list[str]]]:
    """For each enabled account: it and the statuses of its newest ``limit`` finished
    checks of the active key, newest first (one indexed query per account)."""
    found = {}
    for account in ConnectedAccount.objects.filter(is_enabled=True):
        statuses = list(
            account.checks.filter(finished_at__isnull=False)
            .exclude(credential__state__in=[CredentialState.PENDING, CredentialState.FAILED])
            .order_by("-requested_at")
            .values_list("status", flat=True)[:limit]
        )
        found[account.pk] = (account, statuses)
    return found

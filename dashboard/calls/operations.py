"""The Operations overview: per-account health and traffic, per-provider volume
against documented limits, the scheduled synthetic check, and the daily summary of
new and regressed error groups.

Figures other features own (keys due for rotation, failed checks, event delivery) are
imported lazily and shown as "not available" until their feature lands.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Count, Max, Q
from django.db.models.functions import TruncMinute, TruncSecond
from django.utils import timezone

from dashboard.accounts.models import AccountCheck, CheckStatus, ConnectedAccount
from dashboard.calls import charts
from dashboard.calls.models import ApiCall, Outcome
from dashboard.calls.selectors import groups_summary
from integrations import errors
from integrations.registry import UnknownProvider, get_provider, provider_choices

logger = logging.getLogger(__name__)

UNAVAILABLE = object()


# --- the synthetic check (a write; the beat task calls it) ----------------------------------
def synthetic_checks_queue(*, now: datetime | None = None) -> list[int]:
    """Queue a verify check for every enabled account whose provider can verify and
    that has no check in flight; returns the queued check ids."""
    from dashboard.accounts.services import account_check_request

    now = now or timezone.now()
    # A check still pending or running (a slow provider, a busy worker) is not doubled.
    in_flight = set(
        AccountCheck.objects.filter(
            status__in=(CheckStatus.PENDING, CheckStatus.RUNNING),
            requested_at__gte=now - timedelta(seconds=2 * settings.SYNTHETIC_CHECK_SECONDS),
        ).values_list("account_id", flat=True)
    )
    queued = []
    for account in ConnectedAccount.objects.filter(is_enabled=True).order_by("pk"):
        if account.pk in in_flight:
            continue
        try:
            verifiable = get_provider(account.provider).can_verify()
        except UnknownProvider:
            continue
        if verifiable:
            queued.append(account_check_request(account=account).pk)
    return queued


# --- reads ----------------------------------------------------------------------------------
def _optional(module: str, name: str, **kwargs):
    """The value of another feature's selector, or UNAVAILABLE until it exists."""
    import importlib

    try:
        function = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return UNAVAILABLE
    try:
        return function(**kwargs)
    except Exception:  # another feature's bug must not take the Overview down
        logger.exception("overview_section_failed", extra={"selector": f"{module}.{name}"})
        return UNAVAILABLE


def _p95_by_account(since: datetime) -> dict[int | None, float]:
    calls = ApiCall.objects.filter(started_at__gte=since)
    if connection.vendor == "postgresql":
        table = ApiCall._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT account_id, percentile_disc(0.95) WITHIN GROUP (ORDER BY duration_ms) "  # noqa: S608
                f"FROM {connection.ops.quote_name(table)} WHERE started_at >= %s "
                "GROUP BY account_id",
                [since],
            )
            return dict(cursor.fetchall())
    # Elsewhere: the value at the 95th rank, one indexed query per account.
    result = {}
    for row in calls.values("account_id").annotate(n=Count("id")):
        rank = max(0, round(0.95 * (row["n"] - 1)))
        value = (
            calls.filter(account_id=row["account_id"])
            .order_by("duration_ms")
            .values_list("duration_ms", flat=True)[rank : rank + 1]
        )
        result[row["account_id"]] = next(iter(value), None)
    return result


def account_operations(*, now: datetime | None = None) -> list[dict]:
    """Per account: last check, calls and failures in the last hour, p95 latency,
    429s and the current back-off (from the latest rate-limited answer's Retry-After)."""
    now = now or timezone.now()
    since = now - timedelta(hours=1)
    accounts = list(ConnectedAccount.objects.order_by("name"))
    traffic = {
        row["account_id"]: row
        for row in ApiCall.objects.filter(started_at__gte=since)
        .values("account_id")
        .annotate(
            total=Count("id"),
            failed=Count("id", filter=Q(outcome=Outcome.FAILED)),
            limited=Count("id", filter=Q(problem_kind=errors.RATE_LIMITED)),
        )
    }
    p95 = _p95_by_account(since)
    latest_check_ids = AccountCheck.objects.values("account").annotate(last=Max("pk"))
    checks = {
        c.account_id: c
        for c in AccountCheck.objects.filter(pk__in=[r["last"] for r in latest_check_ids])
    }
    backoff: dict[int, dict] = {}
    for row in (
        ApiCall.objects.filter(started_at__gte=since, problem_kind=errors.RATE_LIMITED)
        .order_by("-started_at", "-id")
        .values("account_id", "started_at", "problem")[:500]
    ):
        if row["account_id"] in backoff:
            continue
        retry_after = (row["problem"] or {}).get("retry_after")
        until = row["started_at"] + timedelta(seconds=float(retry_after or 0))
        backoff[row["account_id"]] = {
            "last_429": row["started_at"],
            "retry_after": retry_after,
            "until": until if until > now else None,
            "remaining": max(0.0, (until - now).total_seconds()),
        }
    rows = []
    for account in accounts:
        t = traffic.get(account.pk, {})
        rows.append(
            {
                "account": account,
                "check": checks.get(account.pk),
                "calls": t.get("total", 0),
                "failed": t.get("failed", 0),
                "limited": t.get("limited", 0),
                "p95_ms": p95.get(account.pk),
                "backoff": backoff.get(account.pk),
            }
        )
    return rows


def provider_volume(*, now: datetime | None = None) -> list[dict]:
    """Per provider: calls in the last hour and, where a limit is documented, the
    busiest window of the limit's length against it (so a limit is seen coming)."""
    now = now or timezone.now()
    since = now - timedelta(hours=1)
    totals = dict(
        ApiCall.objects.filter(started_at__gte=since)
        .values("provider")
        .annotate(n=Count("id"))
        .values_list("provider", "n")
    )
    rows = []
    for key, label in provider_choices():
        limit = settings.PROVIDER_RATE_LIMITS.get(key)
        row = {"provider": key, "label": label, "calls": totals.get(key, 0), "limit": limit}
        if limit:
            per = limit["per_seconds"]
            trunc = TruncSecond if per == 1 else TruncMinute
            peak = (
                ApiCall.objects.filter(provider=key, started_at__gte=since)
                .annotate(window=trunc("started_at"))
                .values("window")
                .annotate(n=Count("id"))
                .order_by("-n")
                .values_list("n", flat=True)[:1]
            )
            row["peak"] = next(iter(peak), 0)
            row["unit"] = "second" if per == 1 else "minute"
            row["ratio"] = row["peak"] / limit["requests"]
            row["meter"] = charts.meter(row["peak"], limit["requests"])
        rows.append(row)
    return rows


def operations_overview(*, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    due = _optional(
        "dashboard.accounts.selectors",
        "credentials_due_for_rotation",
        max_age_days=settings.CREDENTIAL_MAX_AGE_DAYS,
    )
    failed_checks = _optional("dashboard.accounts.selectors", "accounts_with_failed_checks")
    delivery = _optional("dashboard.events.selectors", "delivery_overview")
    due_by_account: dict[int, list] = defaultdict(list)
    if due is not UNAVAILABLE:
        for credential in due:
            due_by_account[getattr(credential, "account_id", None)].append(credential)
    accounts = account_operations(now=now)
    for row in accounts:
        row["due"] = due_by_account.get(row["account"].pk, [])
    return {
        "ops_accounts": accounts,
        "ops_providers": provider_volume(now=now),
        "rotation_due": None if due is UNAVAILABLE else list(due),
        "failed_checks": None if failed_checks is UNAVAILABLE else list(failed_checks),
        "delivery": None if delivery is UNAVAILABLE else delivery,
        "daily": groups_summary(since=now - timedelta(days=1)),
        "synthetic_minutes": max(1, settings.SYNTHETIC_CHECK_SECONDS // 60),
    }

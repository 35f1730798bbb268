"""Reads for the Overview page: per-account health and traffic, per-provider volume
against documented limits, the scheduled synthetic check, the daily summary of new
and regressed error groups, and the figures each feature owns (keys due for rotation,
failed checks, event delivery).

This app is the top of the graph (docs/architecture.md): it imports every feature's
selectors directly, and nothing but the URLconf imports it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Count, Max, Q
from django.db.models.functions import TruncMinute, TruncSecond
from django.utils import timezone

from dashboard.accounts import selectors as account_selectors
from dashboard.accounts.models import AccountCheck, ConnectedAccount
from dashboard.calls import charts
from dashboard.calls.group_selectors import groups_summary
from dashboard.calls.models import ApiCall, Outcome
from dashboard.calls.selectors import calls_summary
from dashboard.events import selectors as event_selectors
from integrations import errors
from integrations.registry import provider_choices


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


def overview_for(*, user, now: datetime | None = None) -> dict:
    """Everything the Overview page shows, for ``user`` (whose role decides which
    accounts' details are listed)."""
    now = now or timezone.now()
    due = account_selectors.credentials_due_for_rotation(
        max_age_days=settings.CREDENTIAL_MAX_AGE_DAYS
    )
    due_by_account: dict[int, list] = defaultdict(list)
    for credential in due:
        due_by_account[credential.account_id].append(credential)
    accounts = account_operations(now=now)
    for row in accounts:
        row["due"] = due_by_account.get(row["account"].pk, [])
    return {
        "accounts": account_selectors.accounts_overview(user=user),
        "calls": calls_summary(since=now - timedelta(hours=1)),
        "ops_accounts": accounts,
        "ops_providers": provider_volume(now=now),
        "rotation_due": list(due),
        "failed_checks": list(account_selectors.accounts_with_failed_checks()),
        "delivery": event_selectors.delivery_overview(now=now),
        "daily": groups_summary(since=now - timedelta(days=1)),
        "synthetic_minutes": max(1, settings.SYNTHETIC_CHECK_SECONDS // 60),
    }

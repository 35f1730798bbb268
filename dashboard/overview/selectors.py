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
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from dashboard.accounts import selectors as account_selectors
from dashboard.accounts.models import AccountCheck, ConnectedAccount, Health
from dashboard.calls import charts
from dashboard.calls.group_selectors import groups_summary
from dashboard.calls.models import ApiCall
from dashboard.calls.traffic import busiest_windows, traffic_since
from dashboard.events import selectors as event_selectors
from integrations import errors
from integrations.registry import provider_choices


def _latest_rate_limited(*, since: datetime, field: str) -> Subquery:
    """``field`` of the account's newest rate-limited call since ``since`` (per account
    row: a probe of the apicall_kind_recent index, in the window's partitions)."""
    return Subquery(
        ApiCall.objects.filter(
            account=OuterRef("pk"), problem_kind=errors.RATE_LIMITED, started_at__gte=since
        )
        .order_by("-started_at", "-id")
        .values(field)[:1]
    )


def _backoff(account: ConnectedAccount, *, now: datetime) -> dict | None:
    """The account's latest 429 of the window and the back-off its Retry-After asked
    for (None when it was not rate limited)."""
    if account.last_429_at is None:
        return None
    retry_after = (account.last_429_problem or {}).get("retry_after")
    until = account.last_429_at + timedelta(seconds=float(retry_after or 0))
    return {
        "last_429": account.last_429_at,
        "retry_after": retry_after,
        "until": until if until > now else None,
        "remaining": max(0.0, (until - now).total_seconds()),
    }


def _accounts_with_checks(*, since: datetime) -> list[ConnectedAccount]:
    """Every account by name, each with ``last_check`` (its newest AccountCheck),
    ``failed_check`` (for a failing account, its newest failed check of a key in
    use) and its newest rate-limited call since ``since`` (``last_429_at``,
    ``last_429_problem``): two queries, however many accounts."""
    accounts = list(
        ConnectedAccount.objects.annotate(
            last_check_pk=account_selectors.last_check_subquery(),
            failed_check_pk=account_selectors.last_failed_check_subquery(),
            last_429_at=_latest_rate_limited(since=since, field="started_at"),
            last_429_problem=_latest_rate_limited(since=since, field="problem"),
        ).order_by("name")
    )
    wanted = {a.last_check_pk for a in accounts} | {
        a.failed_check_pk for a in accounts if a.health == Health.FAILING
    }
    checks = AccountCheck.objects.in_bulk([pk for pk in wanted if pk])
    for account in accounts:
        account.last_check = checks.get(account.last_check_pk)
        account.failed_check = (
            checks.get(account.failed_check_pk) if account.health == Health.FAILING else None
        )
    return accounts


def account_operations(
    *,
    now: datetime | None = None,
    accounts: list[ConnectedAccount] | None = None,
    traffic: list[dict] | None = None,
) -> list[dict]:
    """Per account: last check, calls and failures in the last hour, p95 latency,
    429s and the current back-off (from the latest rate-limited answer's Retry-After).
    ``accounts`` (from :func:`_accounts_with_checks`) and ``traffic`` (the last hour's
    :func:`traffic_since`) are read here when not given."""
    now = now or timezone.now()
    since = now - timedelta(hours=1)
    accounts = _accounts_with_checks(since=since) if accounts is None else accounts
    traffic = traffic_since(since=since) if traffic is None else traffic
    by_account: dict[int, dict] = {}
    for row in traffic:
        if row["account_id"] is None:
            continue
        figures = by_account.setdefault(
            row["account_id"], {"calls": 0, "failed": 0, "limited": 0, "p95_ms": None}
        )
        for key in ("calls", "failed", "limited"):
            figures[key] += row[key]
        if row["p95_ms"] is not None:
            figures["p95_ms"] = row["p95_ms"]
    rows = []
    for account in accounts:
        figures = by_account.get(account.pk, {})
        rows.append(
            {
                "account": account,
                "check": account.last_check,
                "calls": figures.get("calls", 0),
                "failed": figures.get("failed", 0),
                "limited": figures.get("limited", 0),
                "p95_ms": figures.get("p95_ms"),
                "backoff": _backoff(account, now=now),
            }
        )
    return rows


def provider_volume(
    *, now: datetime | None = None, traffic: list[dict] | None = None
) -> list[dict]:
    """Per provider: calls in the last hour and, where a limit is documented, the
    busiest window of the limit's length against it (so a limit is seen coming).
    Two queries in all, however many providers (one when ``traffic`` is given)."""
    now = now or timezone.now()
    since = now - timedelta(hours=1)
    traffic = traffic_since(since=since) if traffic is None else traffic
    totals: dict[str, int] = defaultdict(int)
    for row in traffic:
        totals[row["provider"]] += row["calls"]
    providers = provider_choices()
    limits = {
        key: settings.PROVIDER_RATE_LIMITS[key]
        for key, _label in providers
        if settings.PROVIDER_RATE_LIMITS.get(key)
    }
    peaks = busiest_windows(
        since=since, seconds={key: limit["per_seconds"] for key, limit in limits.items()}
    )
    rows = []
    for key, label in providers:
        limit = limits.get(key)
        row = {"provider": key, "label": label, "calls": totals.get(key, 0), "limit": limit}
        if limit:
            per = limit["per_seconds"]
            row["peak"] = peaks.get(key, 0)
            row["unit"] = "second" if per == 1 else "minute"
            row["ratio"] = row["peak"] / limit["requests"]
            row["meter"] = charts.meter(row["peak"], limit["requests"])
        rows.append(row)
    return rows


def overview_for(*, user, now: datetime | None = None) -> dict:
    """Everything the Overview page shows (every role sees the same figures; ``user``
    is kept for the view's call).

    A fixed number of queries, however many accounts and providers (each panel reads
    its figures grouped, not one account at a time), each bounded by its window: the
    last hour of the call counters (two statements for the call figures, up to two
    for the busiest windows, ``calls.traffic``), the day's error groups, the events'
    hourly counters."""
    now = now or timezone.now()
    hour_ago = now - timedelta(hours=1)
    due = account_selectors.credentials_due_for_rotation(
        max_age_days=settings.CREDENTIAL_MAX_AGE_DAYS
    )
    due_by_account: dict[int, list] = defaultdict(list)
    for credential in due:
        due_by_account[credential.account_id].append(credential)
    accounts = _accounts_with_checks(since=hour_ago)
    traffic = traffic_since(since=hour_ago)
    operations = account_operations(now=now, accounts=accounts, traffic=traffic)
    for row in operations:
        row["due"] = due_by_account.get(row["account"].pk, [])
    return {
        "accounts_count": len(accounts),
        "calls": {
            "total": sum(row["calls"] for row in traffic),
            "failed": sum(row["failed"] for row in traffic),
            "suspended": sum(row["suspended"] for row in traffic),
        },
        "ops_accounts": operations,
        "ops_providers": provider_volume(now=now, traffic=traffic),
        "rotation_due": list(due),
        "failed_checks": [
            {"account": a, "check": a.failed_check} for a in accounts if a.health == Health.FAILING
        ],
        "delivery": event_selectors.delivery_overview(now=now),
        "daily": groups_summary(since=now - timedelta(days=1)),
        "synthetic_minutes": max(1, settings.SYNTHETIC_CHECK_SECONDS // 60),
    }

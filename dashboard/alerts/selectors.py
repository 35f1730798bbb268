"""Reads for the Alerts pages and commands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from dashboard.alerts.models import Alert, AlertRule, Delivery, Destination, GroupSnooze
from dashboard.core.keyset import decode_keyset, encode_keyset

PAGE_SIZE = 50


@dataclass(frozen=True)
class HistoryFilters:
    account: int | None = None
    group: int | None = None
    rule: int | None = None
    digest: int | None = None


@dataclass(frozen=True)
class HistoryPage:
    rows: list[Alert]
    next_cursor: str | None


def rule_list() -> QuerySet[AlertRule]:
    return AlertRule.objects.select_related("account").prefetch_related("destinations")


def destination_list() -> QuerySet[Destination]:
    return Destination.objects.annotate(rule_count=Count("rules"))


def history_page(
    filters: HistoryFilters, *, cursor: str = "", page_size: int = PAGE_SIZE
) -> HistoryPage:
    """Alerts newest first (keyset), each with its deliveries; a digest's members are
    listed under the digest, not again on their own (unless a digest is asked for)."""
    qs = Alert.objects.select_related("rule", "account").prefetch_related(
        Prefetch("deliveries", queryset=Delivery.objects.select_related("destination"))
    )
    if filters.digest:
        qs = qs.filter(Q(digest_id=filters.digest) | Q(pk=filters.digest))
    elif not (filters.group or filters.account):
        qs = qs.filter(digest__isnull=True)
    if filters.account:
        qs = qs.filter(account_id=filters.account)
    if filters.group:
        qs = qs.filter(group_id=filters.group)
    if filters.rule:
        qs = qs.filter(rule_id=filters.rule)
    qs = qs.order_by("-created_at", "-id")
    position = decode_keyset(cursor, datetime) if cursor else None
    if position is not None:
        at, pk = position
        qs = qs.filter(Q(created_at__lt=at) | Q(created_at=at, id__lt=pk))
    rows = list(qs[: page_size + 1])
    next_cursor = None
    if len(rows) > page_size:
        rows = rows[:page_size]
        next_cursor = encode_keyset(rows[-1].created_at, rows[-1].pk)
    return HistoryPage(rows, next_cursor)


def rules_for(*, account_id: int | None = None, group_provider: str = "") -> list[AlertRule]:
    """Rules that could fire for an account (those naming it, or no account), or for a
    group of ``group_provider`` (the group kinds with no provider or that one)."""
    rules = rule_list()
    if account_id:
        return list(rules.filter(Q(account_id=account_id) | Q(account__isnull=True)))
    return list(
        rules.filter(kind__in=["new_group", "regressed_group", "escalating_group"]).filter(
            Q(provider="") | Q(provider=group_provider)
        )
    )


def group_snooze(group_id: int) -> GroupSnooze | None:
    return GroupSnooze.objects.filter(group_id=group_id, until__gt=timezone.now()).first()

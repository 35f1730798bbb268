"""One evaluation pass: every active rule's firings become alerts (once per subject
and window) and each new alert gets one delivery per destination.

Idempotent by construction: an alert is inserted under the unique (rule, subject,
window) constraint in the same transaction as its deliveries, so whichever pass
inserts it owns its deliveries and any other pass (a second beat, a redelivered
task) finds it there and sends nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from dashboard.alerts.delivery import deliveries_enqueue
from dashboard.alerts.evaluation import Firing, firings_for, window_start
from dashboard.alerts.models import Alert, AlertRule, Delivery, GroupSnooze
from dashboard.alerts.rules import KINDS


@dataclass
class PassResult:
    alerts: list[Alert] = field(default_factory=list)  # what gets delivered (digests included)
    deliveries: list[Delivery] = field(default_factory=list)


def active_rules(now: datetime) -> list[AlertRule]:
    rules = AlertRule.objects.filter(muted=False).prefetch_related("destinations")
    return [r for r in rules if r.snoozed_until is None or r.snoozed_until <= now]


def _snoozed_groups(now: datetime) -> set[int]:
    return set(GroupSnooze.objects.filter(until__gt=now).values_list("group_id", flat=True))


_COLUMNS = (
    "rule_id",
    "subject_key",
    "window_start",
    "account_id",
    "provider",
    "group_id",
    "sentence",
    "link",
    "created_at",
)
_CHUNK = 500  # rows per INSERT: well under SQLite's limit of bound parameters


def _insert_new(
    rule: AlertRule, firings: list[Firing], window: datetime, now: datetime
) -> list[Alert]:
    """The alerts this pass inserted, in one statement per chunk: a row another pass
    (or an earlier one) already holds is skipped by the unique constraint
    (``ON CONFLICT DO NOTHING``) and not returned, so only its inserter delivers it.
    PostgreSQL and SQLite (3.35+) both take ``ON CONFLICT … RETURNING``."""
    unique = list({f.subject_key: f for f in firings}.values())
    table = connection.ops.quote_name(Alert._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(c) for c in _COLUMNS)
    stamp = connection.ops.adapt_datetimefield_value
    ids: list[int] = []
    for start in range(0, len(unique), _CHUNK):
        chunk = unique[start : start + _CHUNK]
        row = "(" + ", ".join(["%s"] * len(_COLUMNS)) + ")"
        # Only quoted names and placeholders are formatted in; every value is a parameter.
        sql = (
            f"INSERT INTO {table} ({columns}) VALUES {', '.join([row] * len(chunk))} "  # noqa: S608
            "ON CONFLICT (rule_id, subject_key, window_start) DO NOTHING RETURNING id"
        )
        params = [
            value
            for f in chunk
            for value in (
                rule.pk,
                f.subject_key[:120],
                stamp(window),
                f.account_id,
                f.provider[:40],
                f.group_id,
                f.sentence[:500],
                f.link[:300],
                stamp(now),
            )
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            ids += [pk for (pk,) in cursor.fetchall()]
    return list(Alert.objects.filter(pk__in=ids).order_by("id")) if ids else []


def _digest(rule: AlertRule, members: list[Alert], now: datetime) -> Alert:
    first = members[0]
    digest = Alert.objects.create(
        rule=rule,
        subject_key=f"digest:{first.pk}",
        window_start=first.window_start,
        account_id=rule.account_id,
        provider=rule.provider,
        sentence=(
            f"{len(members)} alerts at once for “{KINDS[rule.kind].label}”, first: {first.sentence}"
        )[:500],
        link=reverse("alerts:index") + f"?digest={first.pk}",
        created_at=now,
    )
    Alert.objects.filter(pk__in=[m.pk for m in members]).update(digest=digest)
    return digest


def evaluate_rule(rule: AlertRule, *, now: datetime, snoozed_groups: set[int]) -> PassResult:
    result = PassResult()
    window = window_start(rule, now)
    firings = [f for f in firings_for(rule, now=now) if f.group_id not in snoozed_groups]
    if not firings:
        return result
    destinations = list(rule.destinations.all())
    with transaction.atomic():
        created = _insert_new(rule, firings, window, now)
        if not created:
            return result
        # A burst (a deploy breaking many things at once) is one message, not fifty.
        if len(created) > settings.ALERTS_DIGEST_AFTER:
            to_send = [_digest(rule, created, now)]
        else:
            to_send = created
        deliveries = Delivery.objects.bulk_create(
            [
                Delivery(alert=a, destination=d, next_attempt_at=now)
                for a in to_send
                for d in destinations
            ]
        )
        deliveries_enqueue(deliveries)
    result.alerts, result.deliveries = to_send, deliveries
    return result


def alerts_run(*, now: datetime | None = None) -> PassResult:
    """One pass over every active rule; returns the alerts raised and their deliveries."""
    now = now or timezone.now()
    snoozed = _snoozed_groups(now)
    total = PassResult()
    for rule in active_rules(now):
        result = evaluate_rule(rule, now=now, snoozed_groups=snoozed)
        total.alerts += result.alerts
        total.deliveries += result.deliveries
    return total

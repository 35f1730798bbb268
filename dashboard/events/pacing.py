"""Pacing an account's requests across every worker (#17).

Each account with a rate has one :class:`~dashboard.events.models.DeliveryPace` row
whose ``next_free_at`` is the first send slot nobody holds. A dispatcher *reserves*
``k`` slots in one atomic statement (``next_free_at = max(next_free_at, now) +
k * interval``, RETURNING the new value), then sends request ``i`` no earlier than
slot ``i``. Every worker reserves from the same row, so slots never overlap however
many workers there are, and the provider's limit holds without any worker knowing
about the others. A 429 pushes ``next_free_at`` forward for everyone.

Why no one-second window ever holds more than the rate: slots are spaced
``interval = (1 + margin) / rate``, and a send that could not leave within ``late``
seconds of its slot gives the slot up and reserves a new one. Requests arriving in
any one second at the provider were then sent from slots spread over at most
``1 + late + jitter`` seconds (jitter: how unevenly they travel), which hold at most
``rate * (1 + late + jitter) / (1 + margin)`` slots: no more than ``rate`` while
``late + jitter <= margin`` (defaults: 10 ms late, 5 % margin, so 40 ms of jitter is
absorbed; the pace reached is at most ``rate / (1 + margin)``, 95 %).

Slots are wall-clock seconds, so workers on several hosts need their clocks in sync
(NTP keeps them within milliseconds).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from django.db import connection

from dashboard.accounts.audit import audit_action
from dashboard.accounts.models import ConnectedAccount
from dashboard.events.models import DeliveryPace
from dashboard.events.outbox import setting
from integrations.http import POOL_MAXSIZE


@dataclass(frozen=True)
class Pace:
    """How fast one account's requests go: ``rate`` per second (0: unpaced) with at
    most ``concurrency`` in flight."""

    rate: float
    concurrency: int

    @property
    def paced(self) -> bool:
        return self.rate > 0

    @property
    def interval(self) -> float:
        """Seconds between two slots (see the module doc for the margin)."""
        return (1 + setting("EVENTS_PACE_MARGIN", 0.05)) / self.rate

    def slots_within(self, seconds: float) -> int:
        """How many requests fit in ``seconds`` at this pace (at least one)."""
        return max(1, math.ceil(seconds / self.interval))


def pace_for(account: ConnectedAccount) -> Pace:
    """The account's pace: its own override where it has one, else the provider's
    default (``EVENTS_RATE_LIMITS``, ``EVENTS_SEND_CONCURRENCY``), with no more in
    flight than the pooled session keeps connections for."""
    [found] = account_paces([account])
    return found.pace


def pace_set(
    *,
    account: ConnectedAccount,
    requests_per_second: float | None = None,
    concurrency: int | None = None,
) -> DeliveryPace:
    """Give ``account`` its own rate and concurrency (None: back to the default)."""
    pace, _ = DeliveryPace.objects.update_or_create(
        account_id=account.pk,
        defaults={"requests_per_second": requests_per_second, "concurrency": concurrency},
    )
    return pace


PACE_ACTIONS = {
    "pace_set": "Changed an account's delivery pace",
    "pace_reset": "Put an account's delivery pace back to the default",
}


@dataclass(frozen=True)
class AccountPace:
    """What the pace page shows for one account: the pace in force and, apart, the
    account's own override (None where it keeps the default)."""

    account: ConnectedAccount
    pace: Pace
    own_rate: float | None
    own_concurrency: int | None
    default: Pace

    @property
    def is_default(self) -> bool:
        return self.own_rate is None and self.own_concurrency is None


def default_pace(provider: str) -> Pace:
    """The pace of an account of ``provider`` without an override of its own."""
    rate = setting("EVENTS_RATE_LIMITS", {}).get(provider, 0.0)
    concurrency = min(max(1, int(setting("EVENTS_SEND_CONCURRENCY", 8))), POOL_MAXSIZE)
    return Pace(rate=max(0.0, float(rate or 0.0)), concurrency=concurrency)


def account_paces(accounts: list[ConnectedAccount]) -> list[AccountPace]:
    """The pace of each of ``accounts`` (one query for the overrides)."""
    overrides = {
        pk: (rate, concurrency)
        for pk, rate, concurrency in DeliveryPace.objects.filter(
            account_id__in=[a.pk for a in accounts]
        ).values_list("account_id", "requests_per_second", "concurrency")
    }
    paces = []
    for account in accounts:
        default = default_pace(account.provider)
        own_rate, own_concurrency = overrides.get(account.pk, (None, None))
        pace = Pace(
            rate=default.rate if own_rate is None else max(0.0, own_rate),
            concurrency=min(own_concurrency or default.concurrency, POOL_MAXSIZE),
        )
        paces.append(AccountPace(account, pace, own_rate, own_concurrency or None, default))
    return paces


def is_per_minute(rate: float) -> bool:
    """Whether ``rate`` (per second) reads better per minute: a whole number a minute
    that is not one a second (Octy documents 120 a minute: 2 a second is a second's
    figure, 100 a minute is not)."""
    return rate > 0 and not _whole(rate) and _whole(rate * 60)


def _whole(value: float) -> bool:
    return abs(value - round(value)) < 1e-6


def describe_rate(rate: float) -> str:
    """``450 requests/s``, ``100 requests/min``, or ``unpaced``."""
    if rate <= 0:
        return "unpaced"
    if is_per_minute(rate):
        return f"{rate * 60:,.4g} requests/min"
    return f"{rate:,.4g} requests/s"


def pace_change(
    *,
    account: ConnectedAccount,
    requests_per_second: float | None,
    concurrency: int | None,
    actor,
) -> str:
    """An admin's change of ``account``'s pace, audited; returns the sentence saying
    what the account now does. Both None: back to the provider's default."""
    reset = requests_per_second is None and concurrency is None
    with audit_action("pace_reset" if reset else "pace_set", actor=actor):
        pace_set(account=account, requests_per_second=requests_per_second, concurrency=concurrency)
    [now] = account_paces([account])
    how = f"{describe_rate(now.pace.rate)}, at most {now.pace.concurrency} in flight"
    if reset:
        return f"{account.name} is back to its provider's default pace: {how}."
    return f"{account.name} now sends {how}, from its next batch of events."


def _greatest() -> str:
    # SQLite's two-argument max() is PostgreSQL's GREATEST().
    return "GREATEST" if connection.vendor == "postgresql" else "MAX"


def _table() -> str:
    return DeliveryPace._meta.db_table


@dataclass(frozen=True)
class Slots:
    """Reserved send times (epoch seconds, ascending) and where the reservation ended
    (``next_free_at`` as this reservation left it)."""

    times: list[float]
    end: float


def reserve(account_id: int, count: int, interval: float) -> Slots:
    """Reserve ``count`` consecutive send slots for ``account_id``, the first no
    earlier than now. One UPDATE ... RETURNING:
    concurrent reservers (other threads, processes, hosts) are serialized by the
    row lock and never get the same slot."""
    DeliveryPace.objects.bulk_create([DeliveryPace(account_id=account_id)], ignore_conflicts=True)
    now = time.time()
    with connection.cursor() as cursor:
        # Names come from the model; values are parameters.
        cursor.execute(
            f"UPDATE {_table()} SET next_free_at = {_greatest()}(next_free_at, %s) + %s "  # noqa: S608
            "WHERE account_id = %s RETURNING next_free_at",
            [now, count * interval, account_id],
        )
        end = cursor.fetchone()[0]
    start = end - count * interval
    return Slots(times=[start + i * interval for i in range(count)], end=end)


def give_back(account_id: int, slots: Slots, unused: int) -> bool:
    """Return the last ``unused`` slots of ``slots`` if nobody reserved after them
    (a run that stops before sending them all); ``True`` when returned."""
    if unused <= 0:
        return True
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_table()} SET next_free_at = %s "  # noqa: S608
            "WHERE account_id = %s AND next_free_at = %s",
            [slots.times[-unused], account_id, slots.end],
        )
        return cursor.rowcount == 1


def hold_until(account_id: int, until: float) -> None:
    """Nobody sends for ``account_id`` before ``until`` (the provider said 429 with a
    Retry-After): slots already reserved past it are kept."""
    DeliveryPace.objects.bulk_create([DeliveryPace(account_id=account_id)], ignore_conflicts=True)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_table()} SET next_free_at = {_greatest()}(next_free_at, %s) "  # noqa: S608
            "WHERE account_id = %s",
            [until, account_id],
        )

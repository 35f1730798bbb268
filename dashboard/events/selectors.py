"""Reads of the outbox: the inspector's filtered, keyset-paginated lists, an event's
history, a customer's events, and the delivery overview."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Min, Q, QuerySet, Sum
from django.utils import timezone

from dashboard.accounts.models import ConnectedAccount
from dashboard.calls.models import ApiCall
from dashboard.core import histogram
from dashboard.core.keyset import decode_keyset, encode_keyset
from dashboard.events import counters
from dashboard.events.models import (
    FAILURE_STATUSES,
    EventHourCount,
    EventLatencyBucket,
    EventStatus,
    EventType,
    OutboundEvent,
    Replay,
)

PAGE_SIZE = 50
LIVE_LIMIT = 50

LIST_COLUMNS = (
    "id",
    "account_id",
    "account__name",
    "provider",
    "event_type",
    "status",
    "user_id",
    "size_bytes",
    "total_attempts",
    "created_at",
    "delivered_at",
    "next_attempt_at",
)


@dataclass(frozen=True)
class EventFilters:
    account: int | None = None
    provider: str = ""
    event_type: str = ""
    status: str = ""
    user_id: str = ""
    since: datetime | None = None
    until: datetime | None = None
    text: str = ""
    failures_only: bool = False

    def as_dict(self) -> dict:
        """JSON-able form (stored with a replay)."""
        data = asdict(self)
        for key in ("since", "until"):
            data[key] = data[key].isoformat() if data[key] else None
        return data


@dataclass(frozen=True)
class EventPage:
    rows: list[dict]
    next_cursor: str | None
    top_id: int


def encode_cursor(created_at: datetime, pk: int) -> str:
    return encode_keyset(created_at, pk)


def decode_cursor(cursor: str) -> tuple[datetime, int] | None:
    return decode_keyset(cursor, datetime)


def filtered_events(filters: EventFilters) -> QuerySet[OutboundEvent]:
    qs = OutboundEvent.objects.all()
    if filters.account:
        qs = qs.filter(account_id=filters.account)
    if filters.provider:
        qs = qs.filter(provider=filters.provider)
    if filters.event_type:
        qs = qs.filter(event_type=filters.event_type)
    if filters.failures_only:
        qs = qs.filter(status__in=FAILURE_STATUSES)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.user_id:
        qs = qs.filter(user_id=filters.user_id)
    if filters.since:
        qs = qs.filter(created_at__gte=filters.since)
    if filters.until:
        qs = qs.filter(created_at__lt=filters.until)
    if filters.text:
        # The body is the exact JSON sent: a plain substring search finds values and keys.
        qs = qs.filter(body__icontains=filters.text)
    return qs


def event_page(filters: EventFilters, *, cursor: str = "", page_size: int = PAGE_SIZE) -> EventPage:
    """One page of events, newest first, after ``cursor`` (keyset: no OFFSET)."""
    qs = filtered_events(filters).order_by("-created_at", "-id")
    position = decode_cursor(cursor) if cursor else None
    if position is not None:
        created_at, pk = position
        qs = qs.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=pk))
    rows = list(qs.values(*LIST_COLUMNS)[: page_size + 1])
    next_cursor = None
    if len(rows) > page_size:
        rows = rows[:page_size]
        next_cursor = encode_cursor(rows[-1]["created_at"], rows[-1]["id"])
    top = latest_id()
    return EventPage(rows=rows, next_cursor=next_cursor, top_id=top)


def latest_id() -> int:
    return OutboundEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def events_after(filters: EventFilters, *, after_id: int, limit: int = LIVE_LIMIT) -> list[dict]:
    """Events newer than ``after_id`` matching ``filters``, newest first (the live stream)."""
    qs = filtered_events(filters).filter(id__gt=after_id).order_by("-id")
    return list(qs.values(*LIST_COLUMNS)[:limit])


def settled_events(ids: list[int]) -> list[dict]:
    """Of ``ids`` (rows a page shows as queued or sending), those whose status moved on."""
    if not ids:
        return []
    qs = OutboundEvent.objects.filter(id__in=ids).exclude(
        status__in=(EventStatus.QUEUED, EventStatus.SENDING)
    )
    return list(qs.values(*LIST_COLUMNS))


def count_after(filters: EventFilters, *, after_id: int) -> int:
    return filtered_events(filters).filter(id__gt=after_id).count()


# A call row still missing this long after its attempt ended is not coming: pruned,
# or lost with a killed process (every task waits for its rows at its end, at most
# ten seconds, see dashboard/calls/recorder.py).
CALL_ROW_GRACE = timedelta(seconds=60)
# An attempt's call started inside the attempt (both clocks are the worker's); the
# margin keeps a bound that lets PostgreSQL look in the right day partitions only.
_CALL_WINDOW_MARGIN = timedelta(minutes=1)


@dataclass(frozen=True)
class AttemptView:
    attempt: object
    call: ApiCall | None
    # The attempt names its exchange but the call log has no row for it yet.
    call_pending: bool = False


def event_history(event: OutboundEvent, *, now: datetime | None = None) -> list[AttemptView]:
    """The attempts, oldest first, each with the exact call that carried it: joined on
    the exchange id, one query for all of them. A call the background writer has not
    written yet is ``call_pending`` (for ``CALL_ROW_GRACE``); after that, gone."""
    attempts = list(event.attempts.all().order_by("number", "id"))
    linked = [a for a in attempts if a.exchange_id]
    calls: dict[str, ApiCall] = {}
    if linked:
        rows = ApiCall.objects.filter(
            exchange_id__in={a.exchange_id for a in linked},
            started_at__gte=min(a.started_at for a in linked) - _CALL_WINDOW_MARGIN,
            started_at__lte=max(a.finished_at for a in linked) + _CALL_WINDOW_MARGIN,
        )
        calls = {call.exchange_id: call for call in rows}
    now = now or timezone.now()
    return [
        AttemptView(
            a,
            calls.get(a.exchange_id),
            call_pending=bool(
                a.exchange_id
                and a.exchange_id not in calls
                and now - a.finished_at < CALL_ROW_GRACE
            ),
        )
        for a in attempts
    ]


def events_for_user(
    identifiers: Mapping[str, str] | Iterable[str], *, limit: int = 50, exclude: int | None = None
) -> list[OutboundEvent]:
    """Events sent for a person, newest first: ``identifiers`` are their ids at the
    providers (client id, user id, consistent anonymous id, profile id) as a mapping
    or a list of values."""
    values = identifiers.values() if isinstance(identifiers, Mapping) else identifiers
    values = sorted({str(v) for v in values if v})
    if not values:
        return []
    qs = OutboundEvent.objects.filter(user_id__in=values).select_related("account")
    if exclude:
        qs = qs.exclude(pk=exclude)
    return list(qs.order_by("-created_at", "-id")[:limit])


def event_types() -> list[str]:
    """The event types queued so far (any account), from the maintained list: a few
    rows per account, never a scan of the events."""
    return list(
        EventType.objects.order_by("event_type")
        .values_list("event_type", flat=True)
        .distinct()[:200]
    )


def recent_replays(limit: int = 10) -> list[Replay]:
    return list(Replay.objects.select_related("requested_by")[:limit])


_OVERVIEW_KEYS = ("queued", "delivered", "failed", "dead")


def delivery_overview(*, now: datetime | None = None) -> list[dict]:
    """Per account with events in the last day: counts of queued / delivered / failed /
    dead for the last hour and day (events created then, by their status now), and
    the p95 delivery latency (queued → delivered, in ms).

    Each row: ``{"account_id", "account", "provider", "hour": {status: n},
    "day": {status: n}, "p95_ms"}``; statuses are queued, delivered, failed, dead
    (``sending`` counts as queued).

    What it reads (#17), so that its cost follows the hourly rate, not the events
    ever stored: the whole UTC hours inside the day come from :class:`EventHourCount`
    (accounts × statuses × 24 rows at most); the two partial ends of the day (which
    together are one hour long) and the last hour are counted from the events by
    ``created_at``, so every count is exact; the p95 comes from the hourly latency
    histogram (:class:`EventLatencyBucket`) of the hours the day touches, picked in
    SQL, within ±4.4 % of the exact value (``counters`` says why a histogram).
    """
    now = now or timezone.now()
    day_ago, hour_ago = now - timedelta(days=1), now - timedelta(hours=1)
    whole_from, whole_to = counters.next_hour_boundary(day_ago), counters.hour_of(now)
    day: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    hour: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in (
        EventHourCount.objects.filter(hour__gte=whole_from, hour__lt=whole_to)
        .order_by()
        .values("account_id", "status")
        .annotate(n=Sum("count"))
    ):
        day[row["account_id"]][row["status"]] += row["n"]
    in_day_ends = Q(created_at__lt=whole_from) | Q(created_at__gte=whole_to)
    for row in (
        OutboundEvent.objects.filter(
            Q(created_at__gte=day_ago, created_at__lt=whole_from) | Q(created_at__gte=hour_ago)
        )
        .order_by()
        .values("account_id", "status")
        .annotate(
            day=Count("id", filter=in_day_ends),
            hour=Count("id", filter=Q(created_at__gte=hour_ago)),
        )
    ):
        status = counters.counted_status(row["status"])
        day[row["account_id"]][status] += row["day"]
        hour[row["account_id"]][status] += row["hour"]
    listed = [pk for pk, by_status in day.items() if sum(by_status.values()) > 0]
    if not listed:
        return []
    p95 = _p95_by_account(since=counters.hour_of(day_ago), accounts=listed)
    rows = []
    for account in ConnectedAccount.objects.filter(pk__in=listed).values("id", "name", "provider"):
        pk = account["id"]
        rows.append(
            {
                "account_id": pk,
                "account": account["name"],
                "provider": account["provider"],
                "hour": {key: hour[pk].get(key, 0) for key in _OVERVIEW_KEYS},
                "day": {key: day[pk].get(key, 0) for key in _OVERVIEW_KEYS},
                "p95_ms": p95.get(pk),
            }
        )
    return sorted(rows, key=lambda r: r["account"])


def _p95_by_account(*, since: datetime, accounts: list[int]) -> dict[int, float]:
    """Per account, the p95 delivery latency of events created since ``since``'s
    hour, from the histogram, in one statement that reads accounts × hours × buckets
    rows (:func:`dashboard.core.histogram.p95_by_key`)."""
    return histogram.p95_by_key(
        table=EventLatencyBucket._meta.db_table,
        key="account_id",
        time_column="hour",
        since=since,
        keys=accounts,
    )


# --- read by alerts and /metrics (#18) --------------------------------------------------
def outbox_pending_by_account() -> list[dict]:
    """Per account with events waiting (queued or being sent): ``account_id``,
    ``account``, ``provider``, ``depth`` and ``oldest`` (created_at of the oldest)."""
    return list(
        OutboundEvent.objects.filter(status__in=[EventStatus.QUEUED, EventStatus.SENDING])
        .order_by()
        .values("account_id", "account__name", "provider")
        .annotate(depth=Count("id"), oldest=Min("created_at"))
    )


def events_needing_a_person(*, since: datetime) -> list[dict]:
    """Per account: events created since ``since`` that failed permanently or ran out
    of retries (``count``), from the event_failures_recent partial index."""
    return list(
        OutboundEvent.objects.filter(status__in=FAILURE_STATUSES, created_at__gte=since)
        .order_by()
        .values("account_id", "account__name", "provider")
        .annotate(count=Count("id"))
    )


def event_counts_by_provider(*, since: datetime) -> list[dict]:
    """``provider``, ``status``, ``n`` for events created since ``since``."""
    return list(
        OutboundEvent.objects.filter(created_at__gte=since)
        .order_by()
        .values("provider", "status")
        .annotate(n=Count("id"))
    )

"""Replaying failed, dead and held events: the dry run, the run in chunks, cancelling;
and discarding a held event a person found the provider had already recorded."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from dashboard.core.queueing import enqueue_on_commit
from dashboard.events import counters, dispatch
from dashboard.events.models import (
    FAILURE_STATUSES,
    EventStatus,
    OutboundEvent,
    Replay,
    ReplayItem,
    ReplayStatus,
)
from dashboard.events.outbox import setting

REPLAY_LIMIT = 10_000


@dataclass(frozen=True)
class ReplayPlan:
    total: int
    accounts: dict[str, int]
    event_ids: list[int]


def replay_plan(*, events) -> ReplayPlan:
    """The dry run: which failed/dead events of ``events`` (a queryset) would go out
    again, and to which accounts. Nothing is changed."""
    rows = list(
        events.filter(status__in=FAILURE_STATUSES)
        .order_by("id")
        .values_list("id", "account__name")[:REPLAY_LIMIT]
    )
    accounts: dict[str, int] = defaultdict(int)
    for _, name in rows:
        accounts[name] += 1
    return ReplayPlan(total=len(rows), accounts=dict(accounts), event_ids=[pk for pk, _ in rows])


@transaction.atomic
def replay_start(*, plan: ReplayPlan, filters: dict, actor=None) -> Replay:
    """Record a replay of the planned events and run it after commit."""
    replay = Replay.objects.create(
        filters=filters, total=plan.total, accounts=plan.accounts, requested_by=actor
    )
    ReplayItem.objects.bulk_create(
        [ReplayItem(replay=replay, event_id=pk) for pk in plan.event_ids]
    )
    if not plan.total:
        replay.status = ReplayStatus.DONE
        replay.finished_at = timezone.now()
        replay.save(update_fields=["status", "finished_at"])
    else:
        enqueue_on_commit("events.replay", replay.pk)
    return replay


def replay_cancel(*, replay: Replay) -> Replay:
    """Stop a running replay: events not yet re-sent stay as they are."""
    Replay.objects.filter(pk=replay.pk, status=ReplayStatus.RUNNING).update(
        status=ReplayStatus.CANCELLED, finished_at=timezone.now()
    )
    replay.refresh_from_db()
    return replay


def replay_run(*, replay_id: int, chunk_size: int | None = None) -> Replay:
    """Re-send a replay's events a chunk at a time (progress is counted per chunk),
    checking for a cancel between chunks. Idempotent: processed items are skipped."""
    chunk_size = chunk_size or setting("EVENTS_REPLAY_CHUNK", 50)
    while True:
        replay = Replay.objects.get(pk=replay_id)
        if replay.is_done:
            return replay
        items = list(replay.items.filter(processed=False).order_by("id")[:chunk_size])
        if not items:
            Replay.objects.filter(pk=replay_id, status=ReplayStatus.RUNNING).update(
                status=ReplayStatus.DONE, finished_at=timezone.now()
            )
            return Replay.objects.get(pk=replay_id)
        ids = [item.event_id for item in items]
        with transaction.atomic():
            # Only events still failed/dead go out again: a replay never re-sends a delivery.
            # Locked as read (PostgreSQL; SQLite's IMMEDIATE transaction already holds
            # the write lock), so the statuses the counters move from are the ones
            # the UPDATE changes.
            moving = list(
                OutboundEvent.objects.select_for_update()
                .filter(id__in=ids, status__in=FAILURE_STATUSES)
                .values_list("id", "account_id", "created_at", "status")
            )
            OutboundEvent.objects.filter(id__in=[row[0] for row in moving]).update(
                status=EventStatus.QUEUED,
                next_attempt_at=timezone.now(),
                attempt_count=0,
                current_replay=replay,
            )
            counters.count_moves(
                (account_id, created_at, status, EventStatus.QUEUED)
                for _, account_id, created_at, status in moving
            )
            ReplayItem.objects.filter(id__in=[i.pk for i in items]).update(processed=True)
            Replay.objects.filter(pk=replay_id).update(done=F("done") + len(items))
        dispatch.events_dispatch(event_ids=ids)


def event_replay_one(*, event: OutboundEvent, actor=None) -> Replay:
    """Replay a single failed/dead event (a replay of one)."""
    plan = replay_plan(events=OutboundEvent.objects.filter(pk=event.pk))
    return replay_start(plan=plan, filters={"event": event.pk}, actor=actor)


class NotHeld(ValueError):
    """Only a held event can be discarded."""


def event_discard(*, event: OutboundEvent, actor=None) -> OutboundEvent:
    """Settle a held event without sending it again: final status ``discarded``, with
    who and when on the row (as a replay records who asked for it). Raises
    :class:`NotHeld` when the event is not (or no longer) held."""
    # Conditional: a replay that re-queued it meanwhile wins, and it is sent.
    with transaction.atomic():
        changed = OutboundEvent.objects.filter(pk=event.pk, status=EventStatus.HELD).update(
            status=EventStatus.DISCARDED,
            discarded_by=actor,
            discarded_at=timezone.now(),
            updated_at=timezone.now(),
        )
        if changed:
            counters.count_moves(
                [(event.account_id, event.created_at, EventStatus.HELD, EventStatus.DISCARDED)]
            )
    event.refresh_from_db()
    if not changed:
        raise NotHeld(f"event {event.pk} is {event.status}, not held")
    return event

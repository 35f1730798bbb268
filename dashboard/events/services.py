"""Writing the outbox: queueing events, delivering them, sweeping leases, replays."""

from __future__ import annotations

import dataclasses
import json
import logging
import random
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from dashboard.accounts.models import ConnectedAccount
from dashboard.accounts.services import NoActiveCredential, provider_client
from dashboard.calls.context import call_context
from dashboard.calls.models import ApiCall
from dashboard.core.queueing import enqueue_on_commit, send_now
from dashboard.events import preparing
from dashboard.events.models import (
    AttemptOutcome,
    EventAttempt,
    EventStatus,
    OutboundEvent,
    Replay,
    ReplayItem,
    ReplayStatus,
)
from dashboard.events.preparing import EventRefused, PreparedEvent
from integrations import errors
from integrations.commanders_act.payloads import pack_encoded_batches
from integrations.errors import Problem, ProviderError
from integrations.octy.payloads import MAX_BATCH as OCTY_MAX_BATCH

logger = logging.getLogger(__name__)

__all__ = ["EventRefused", "event_queue", "events_dispatch", "events_sweep"]


# --- queueing ------------------------------------------------------------------------
def event_prepare(
    *, account: ConnectedAccount, payload: Any, event_type: str = "", options: dict | None = None
) -> PreparedEvent:
    """Validate and fill an event for ``account`` without saving it (the composer's
    "Validate"); raises :class:`EventRefused`."""
    if not account.is_enabled:
        raise EventRefused([f"account: {account.name} is disabled"])
    return preparing.prepare(account.provider, payload, event_type=event_type, options=options)


def event_queue(
    *,
    account: ConnectedAccount,
    payload: Any,
    event_type: str = "",
    options: dict | None = None,
    actor=None,
    dispatch: bool = True,
) -> OutboundEvent:
    """Store one event in the outbox, in the caller's transaction, and dispatch it
    after commit. Raises :class:`EventRefused` (nothing is stored).

    An event whose idempotency key was already queued for the account is stored as
    ``duplicate`` and never sent.
    """
    prepared = event_prepare(
        account=account, payload=payload, event_type=event_type, options=options
    )
    now = timezone.now()
    duplicate = (
        OutboundEvent.objects.filter(account=account, idempotency_key=prepared.idempotency_key)
        .exclude(status=EventStatus.DUPLICATE)
        .exists()
    )
    event = OutboundEvent.objects.create(
        account=account,
        provider=account.provider,
        event_type=prepared.event_type,
        body=prepared.body,
        envelope=prepared.envelope,
        size_bytes=prepared.size_bytes,
        idempotency_key=prepared.idempotency_key,
        user_id=prepared.user_id[:200],
        identifiers=prepared.identifiers,
        converted_from_v1=prepared.converted_from_v1,
        status=EventStatus.DUPLICATE if duplicate else EventStatus.QUEUED,
        next_attempt_at=now,
        created_by=actor,
        created_at=now,
    )
    if dispatch and not duplicate:
        _dispatch_on_commit()
    return event


def _send_dispatch() -> None:
    from dashboard.events.tasks import dispatch_events

    send_now(dispatch_events)


def _dispatch_on_commit(countdown: float | None = None) -> None:
    """Ask for a dispatcher run after commit (never raising if the broker is down:
    the events stay queued and ``events.sweep`` dispatches them).

    One dispatcher claims every due event, so a transaction that queues many events
    asks once, not once per event.
    """
    from dashboard.events.tasks import dispatch_events

    if countdown:
        enqueue_on_commit(dispatch_events, countdown=countdown)
        return
    # Django keeps the callbacks of the open transaction in ``run_on_commit`` as
    # (savepoint ids, function, robust) and drops them on rollback.
    if any(entry[1] is _send_dispatch for entry in connection.run_on_commit):
        return
    transaction.on_commit(_send_dispatch)


# --- dispatching ---------------------------------------------------------------------
@dataclass
class DispatchReport:
    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    dead: int = 0
    requests: int = 0
    more: bool = False
    next_retry_in: float | None = None

    def add(self, other: DispatchReport) -> None:
        for name in ("claimed", "delivered", "retrying", "failed", "dead", "requests"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        if other.next_retry_in is not None:
            self.next_retry_in = min(self.next_retry_in or other.next_retry_in, other.next_retry_in)


@dataclass
class _Outcome:
    """What one send did to some of the claimed events."""

    status: str  # an AttemptOutcome
    event_ids: list[int]
    started_at: datetime
    api_call_id: int | None = None
    problem: dict | None = None
    retry_in: float = 0.0
    batch_size: int = 1
    provider_event_ids: dict[int, str] = field(default_factory=dict)


def _setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


def events_dispatch(
    *, budget_seconds: float | None = None, event_ids: Iterable[int] | None = None
) -> DispatchReport:
    """Deliver due events until none is left or the time budget is spent.

    Claims at most ``EVENTS_CLAIM_SIZE`` events at a time, so memory stays flat
    whatever the backlog; ``report.more`` says the budget ran out first.
    """
    budget = (
        budget_seconds if budget_seconds is not None else _setting("EVENTS_DISPATCH_BUDGET", 50)
    )
    deadline = time.monotonic() + budget
    ids = list(event_ids) if event_ids is not None else None
    report = DispatchReport()
    while True:
        if time.monotonic() > deadline:
            report.more = _due().exists()
            return report
        token, claimed = _claim(limit=_setting("EVENTS_CLAIM_SIZE", 5000), event_ids=ids)
        if not claimed:
            return report
        report.claimed += len(claimed)
        by_account: dict[int, list[OutboundEvent]] = defaultdict(list)
        for event in claimed:
            by_account[event.account_id].append(event)
        accounts = ConnectedAccount.objects.in_bulk(list(by_account))
        for account_id, events in by_account.items():
            report.add(_deliver(accounts[account_id], events, token))


def _due():
    return OutboundEvent.objects.filter(
        status=EventStatus.QUEUED, next_attempt_at__lte=timezone.now()
    )


def has_due_events() -> bool:
    return _due().exists()


@dataclass
class _Claimed:
    """What the dispatcher needs of a claimed event (no model instance: cheap)."""

    pk: int
    account_id: int
    provider: str
    body: str
    envelope: dict
    size_bytes: int
    idempotency_key: str
    attempt_count: int
    total_attempts: int
    current_replay_id: int | None


_CLAIM_COLUMNS = tuple(f.name for f in dataclasses.fields(_Claimed))
_CLAIM_SQL_COLUMNS = ("id", *(c for c in _CLAIM_COLUMNS if c != "pk"))


def _claimed_from_row(row) -> _Claimed:
    envelope = row[4]
    if isinstance(envelope, str):
        envelope = json.loads(envelope)
    return _Claimed(*row[:4], envelope or {}, *row[5:])


def _claim(*, limit: int, event_ids: list[int] | None = None) -> tuple[str, list[_Claimed]]:
    """Take up to ``limit`` due events for this dispatcher; nobody else gets them
    until they are finished or their lease runs out."""
    now = timezone.now()
    token = uuid.uuid4().hex
    due = _due()
    if event_ids is not None:
        due = due.filter(id__in=event_ids)
    due = due.order_by("next_attempt_at", "id")
    claimed_until = now + timedelta(seconds=_setting("EVENTS_LEASE_SECONDS", 120))
    if connection.features.has_select_for_update_skip_locked:
        # PostgreSQL: rows another dispatcher holds are skipped, not waited for; the
        # claim and the read are one statement (UPDATE ... RETURNING).
        with transaction.atomic():
            locked = due.select_for_update(skip_locked=True).values("id")[:limit]
            inner, params = locked.query.get_compiler(connection.alias).as_sql()
            table = OutboundEvent._meta.db_table
            with connection.cursor() as cursor:
                # Names come from the model and the ORM's own SQL; values are params.
                sql = (
                    f"UPDATE {table} SET status = %s, claim_token = %s, claimed_until = %s, "  # noqa: S608
                    f"updated_at = %s WHERE id IN ({inner}) "
                    f"RETURNING {', '.join(_CLAIM_SQL_COLUMNS)}"
                )
                cursor.execute(
                    sql,
                    [EventStatus.SENDING, token, claimed_until, now, *params],
                )
                rows = cursor.fetchall()
        return token, sorted((_claimed_from_row(r) for r in rows), key=lambda e: e.pk)
    ids = list(due.values_list("id", flat=True)[:limit])
    if not ids:
        return token, []
    # Conditional UPDATE: a row another dispatcher took meanwhile is no longer queued,
    # so it cannot be taken twice.
    OutboundEvent.objects.filter(id__in=ids, status=EventStatus.QUEUED).update(
        status=EventStatus.SENDING, claim_token=token, claimed_until=claimed_until
    )
    rows = (
        OutboundEvent.objects.filter(claim_token=token, status=EventStatus.SENDING)
        .order_by("id")
        .values_list("id", *_CLAIM_COLUMNS[1:])
    )
    return token, [_claimed_from_row(r) for r in rows]


def _deliver(account: ConnectedAccount, events: list[_Claimed], token: str) -> DispatchReport:
    started = timezone.now()
    if not account.is_enabled:
        problem = Problem.build(
            account.provider,
            errors.CONFIGURATION,
            title="Account disabled",
            detail=f"{account.name} is disabled; enable it and replay the event.",
            retryable=False,
        )
        return _finish(events, token, [_failure(events, started, problem, None)])
    try:
        client = provider_client(account)
    except NoActiveCredential as exc:
        problem = Problem.build(
            account.provider,
            errors.CONFIGURATION,
            title="No active credential",
            detail=str(exc),
            retryable=False,
        )
        return _finish(events, token, [_failure(events, started, problem, None)])
    sender = _SENDERS[account.provider]
    return _finish(events, token, sender(client, events))


def _send(events: list[_Claimed], call) -> tuple[Any, int | None, Exception | None]:
    """Run ``call`` for ``events`` and find the ApiCall that carried it."""
    correlation = uuid.uuid4().hex
    result, error = None, None
    with call_context(correlation_id=correlation, subject_type="event", subject_id=events[0].pk):
        try:
            result = call()
        except (ProviderError, ValueError) as exc:
            error = exc
    api_call_id = (
        ApiCall.objects.filter(correlation_id=correlation)
        .order_by("-id")
        .values_list("id", flat=True)
        .first()
    )
    return result, api_call_id, error


def _problem_of(error: Exception, provider: str) -> Problem:
    if isinstance(error, ProviderError):
        return error.problem
    return Problem.build(provider, errors.INVALID_REQUEST, detail=str(error), retryable=False)


def _failure(events, started, problem: Problem, api_call_id, *, batch_size=None) -> _Outcome:
    retry_in = 0.0
    status = AttemptOutcome.FAILED
    if problem.retryable:
        status = AttemptOutcome.RETRY
        retry_in = _retry_delay(max(e.attempt_count for e in events) + 1, problem.retry_after)
    return _Outcome(
        status=status,
        event_ids=[e.pk for e in events],
        started_at=started,
        api_call_id=api_call_id,
        problem=problem.to_dict(),
        retry_in=retry_in,
        batch_size=batch_size or len(events),
    )


def _retry_delay(attempt: int, retry_after: float | None) -> float:
    """Exponential backoff with full jitter; a Retry-After is honoured up to a cap."""
    base = _setting("EVENTS_RETRY_BASE_SECONDS", 2.0)
    cap = _setting("EVENTS_RETRY_MAX_SECONDS", 300.0)
    delay = random.uniform(base, min(cap, base * 2 ** (attempt - 1)))
    if retry_after is not None:
        delay = max(delay, min(retry_after, _setting("EVENTS_RETRY_AFTER_CAP_SECONDS", 300.0)))
    return delay


def _send_commanders_act(client, events: list[_Claimed]) -> list[_Outcome]:
    outcomes = []
    bodies = ((e, e.body.encode("utf-8")) for e in events)
    # providers/commanders-act.md: Batch — 500 KB per request, 32 KB per event.
    for batch in pack_encoded_batches(bodies):
        batch_events = [e for e, _ in batch]
        started = timezone.now()
        _, api_call_id, error = _send(
            batch_events,
            lambda batch=batch: client.send_encoded(
                [body for _, body in batch], [e.idempotency_key for e, _ in batch]
            ),
        )
        if error is None:
            outcomes.append(
                _Outcome(
                    AttemptOutcome.DELIVERED,
                    [e.pk for e in batch_events],
                    started,
                    api_call_id,
                    batch_size=len(batch),
                )
            )
        else:
            outcomes.append(
                _failure(batch_events, started, _problem_of(error, "commanders_act"), api_call_id)
            )
    return outcomes


def _send_octy(client, events: list[_Claimed]) -> list[_Outcome]:
    outcomes = []
    # providers/octy.md: events/create/batch takes at most 500 events.
    for start in range(0, len(events), OCTY_MAX_BATCH):
        chunk = events[start : start + OCTY_MAX_BATCH]
        started = timezone.now()
        octy_events = [preparing.octy_event(json.loads(e.body)) for e in chunk]
        result, api_call_id, error = _send(
            chunk, lambda octy_events=octy_events: client.create_events(octy_events)
        )
        if error is not None:
            problem = _problem_of(error, "octy")
            placed = {d.get("index"): d for d in problem.details if isinstance(d, dict)}
            if problem.retryable or not placed:
                outcomes.append(_failure(chunk, started, problem, api_call_id))
                continue
            # Octy answered 400 with every event's failure: each keeps its own message.
            for index, event in enumerate(chunk):
                entry = placed.get(index)
                detail = (entry or {}).get("error_message") or problem.detail
                outcomes.append(
                    _failure(
                        [event],
                        started,
                        _octy_problem(problem, detail),
                        api_call_id,
                        batch_size=len(chunk),
                    )
                )
            continue
        delivered = _Outcome(
            AttemptOutcome.DELIVERED, [], started, api_call_id, batch_size=len(chunk)
        )
        for outcome in result.outcomes:
            event = chunk[outcome.index]
            if outcome.status == "created":
                delivered.event_ids.append(event.pk)
                delivered.provider_event_ids[event.pk] = outcome.event_id or ""
                continue
            if outcome.status == "failed":
                detail = outcome.error_message or "Octy did not create this event"
            else:
                detail = (
                    "Octy's answer could not be matched to this event: check in Octy "
                    "before replaying it."
                )
            outcomes.append(
                _failure(
                    [event],
                    started,
                    _octy_problem(None, detail),
                    api_call_id,
                    batch_size=len(chunk),
                )
            )
        if delivered.event_ids:
            outcomes.append(delivered)
    return outcomes


def _octy_problem(problem: Problem | None, detail: str) -> Problem:
    return Problem.build(
        "octy",
        errors.INVALID_REQUEST,
        status=problem.status if problem else None,
        title="Event not created",
        detail=detail,
        docs_url="https://octy.ai/docs/events",
        retryable=False,
    )


def _send_croct(client, events: list[_Claimed]) -> list[_Outcome]:
    outcomes = []
    # providers/croct.md: track takes one event per request.
    for event in events:
        started = timezone.now()
        track = preparing.croct_track_event(json.loads(event.body), event.envelope)
        _, api_call_id, error = _send([event], lambda track=track: client.track(track))
        if error is None:
            outcomes.append(_Outcome(AttemptOutcome.DELIVERED, [event.pk], started, api_call_id))
        else:
            outcomes.append(_failure([event], started, _problem_of(error, "croct"), api_call_id))
    return outcomes


_SENDERS = {
    "commanders_act": _send_commanders_act,
    "octy": _send_octy,
    "croct": _send_croct,
}


def _finish(events: list[_Claimed], token: str, outcomes: list[_Outcome]) -> DispatchReport:
    """Store each event's outcome and its attempt, for events still held by ``token``
    (a dispatcher that lost its lease to the sweeper writes nothing)."""
    report = DispatchReport(requests=len({o.api_call_id for o in outcomes if o.api_call_id}))
    by_id = {e.pk: e for e in events}
    now = timezone.now()
    max_attempts = _setting("EVENTS_MAX_ATTEMPTS", 6)
    for outcome in outcomes:
        if not outcome.event_ids:
            continue
        attempt = {
            "started_at": outcome.started_at,
            "finished_at": now,
            "batch_size": outcome.batch_size,
            "api_call_id": outcome.api_call_id,
            "problem": outcome.problem,
            "retry_at": None,
        }
        if outcome.status == AttemptOutcome.DELIVERED:
            ids = _record(
                outcome.event_ids,
                token,
                {"status": EventStatus.DELIVERED, "delivered_at": now, "problem": None},
                {**attempt, "outcome": AttemptOutcome.DELIVERED, "problem": None},
            )
            for pk in ids:
                if outcome.provider_event_ids.get(pk):
                    OutboundEvent.objects.filter(pk=pk).update(
                        provider_event_id=outcome.provider_event_ids[pk][:100]
                    )
            report.delivered += len(ids)
        elif outcome.status == AttemptOutcome.FAILED:
            ids = _record(
                outcome.event_ids,
                token,
                {"status": EventStatus.FAILED, "problem": outcome.problem},
                {**attempt, "outcome": AttemptOutcome.FAILED},
            )
            report.failed += len(ids)
        else:
            exhausted = {
                pk for pk in outcome.event_ids if by_id[pk].attempt_count + 1 >= max_attempts
            }
            retrying = [pk for pk in outcome.event_ids if pk not in exhausted]
            if exhausted:
                ids = _record(
                    sorted(exhausted),
                    token,
                    {"status": EventStatus.DEAD, "problem": outcome.problem},
                    {**attempt, "outcome": AttemptOutcome.DEAD},
                )
                report.dead += len(ids)
            if retrying:
                retry_at = now + timedelta(seconds=outcome.retry_in)
                ids = _record(
                    retrying,
                    token,
                    {
                        "status": EventStatus.QUEUED,
                        "problem": outcome.problem,
                        "next_attempt_at": retry_at,
                    },
                    {**attempt, "outcome": AttemptOutcome.RETRY, "retry_at": retry_at},
                )
                report.retrying += len(ids)
                if ids:
                    report.next_retry_in = min(
                        report.next_retry_in or outcome.retry_in, outcome.retry_in
                    )
    return report


def _record(
    ids: list[int], token: str, values: dict[str, Any], attempt: dict[str, Any]
) -> list[int]:
    """Apply ``values`` to the events of ``ids`` that ``token`` still holds, count the
    try, and add its attempt row to each; returns the ids changed."""
    now = attempt["finished_at"]
    if connection.vendor == "postgresql":
        from psycopg.types.json import Jsonb

        def param(column, value):
            return Jsonb(value) if column == "problem" and value is not None else value

        table = OutboundEvent._meta.db_table
        attempts_table = EventAttempt._meta.db_table
        sets = ", ".join(f"{column} = %s" for column in values)
        attempt_columns = list(attempt)
        # One statement per batch: the events change and their attempts are written
        # together (= ANY(array) keeps the id list a single parameter).
        sql = (
            f"WITH held AS (UPDATE {table} SET {sets}, claim_token = '', "  # noqa: S608
            "claimed_until = NULL, attempt_count = attempt_count + 1, "
            "total_attempts = total_attempts + 1, updated_at = %s "
            "WHERE id = ANY(%s) AND claim_token = %s AND status = %s "
            "RETURNING id, total_attempts, current_replay_id) "
            f"INSERT INTO {attempts_table} (event_id, number, replay_id, "
            f"{', '.join(attempt_columns)}) "
            f"SELECT id, total_attempts, current_replay_id, "
            f"{', '.join(['%s'] * len(attempt_columns))} FROM held RETURNING event_id"
        )
        params = [
            *(param(c, v) for c, v in values.items()),
            now,
            list(ids),
            token,
            EventStatus.SENDING,
            *(param(c, v) for c, v in attempt.items()),
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [row[0] for row in cursor.fetchall()]
    with transaction.atomic():
        held = list(
            OutboundEvent.objects.filter(
                id__in=ids, claim_token=token, status=EventStatus.SENDING
            ).values_list("id", "total_attempts", "current_replay_id")
        )
        OutboundEvent.objects.filter(id__in=[pk for pk, _, _ in held]).update(
            claim_token="",
            claimed_until=None,
            attempt_count=F("attempt_count") + 1,
            total_attempts=F("total_attempts") + 1,
            **values,
        )
        EventAttempt.objects.bulk_create(
            [
                EventAttempt(event_id=pk, number=total + 1, replay_id=replay_id, **attempt)
                for pk, total, replay_id in held
            ],
            batch_size=2000,
        )
    return [pk for pk, _, _ in held]


# --- sweeping ------------------------------------------------------------------------
def events_sweep() -> int:
    """Re-queue events whose dispatcher lease expired (the worker died mid-send);
    returns how many. Each gets a ``lease_expired`` attempt and goes out again with
    the same bytes and key; one that keeps killing workers ends ``dead``."""
    now = timezone.now()
    max_attempts = _setting("EVENTS_MAX_ATTEMPTS", 6)
    expired = list(
        OutboundEvent.objects.filter(status=EventStatus.SENDING, claimed_until__lt=now).values_list(
            "id", "claim_token", "attempt_count", "total_attempts", "current_replay_id"
        )[:5000]
    )
    swept = 0
    attempts = []
    problem = Problem.build(
        "switchyard",
        errors.TIMEOUT,
        title="Worker lost",
        detail="The worker sending this event stopped before recording the answer; sent again.",
        retryable=True,
    ).to_dict()
    for pk, token, attempt_count, total, replay_id in expired:
        dead = attempt_count + 1 >= max_attempts
        # Conditional on the same claim: a dispatcher that finished meanwhile wins.
        changed = OutboundEvent.objects.filter(
            pk=pk, status=EventStatus.SENDING, claim_token=token
        ).update(
            status=EventStatus.DEAD if dead else EventStatus.QUEUED,
            claim_token="",
            claimed_until=None,
            next_attempt_at=now,
            problem=problem,
            attempt_count=F("attempt_count") + 1,
            total_attempts=F("total_attempts") + 1,
        )
        if changed:
            swept += 1
            attempts.append(
                EventAttempt(
                    event_id=pk,
                    number=total + 1,
                    started_at=now,
                    finished_at=now,
                    outcome=AttemptOutcome.DEAD if dead else AttemptOutcome.LEASE_EXPIRED,
                    problem=problem,
                    replay_id=replay_id,
                )
            )
    EventAttempt.objects.bulk_create(attempts)
    return swept


# --- replay --------------------------------------------------------------------------
@dataclass(frozen=True)
class ReplayPlan:
    total: int
    accounts: dict[str, int]
    event_ids: list[int]


REPLAY_LIMIT = 10_000


def replay_plan(*, events) -> ReplayPlan:
    """The dry run: which failed/dead events of ``events`` (a queryset) would go out
    again, and to which accounts. Nothing is changed."""
    from dashboard.events.models import FAILURE_STATUSES

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
    from dashboard.events.tasks import run_replay

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
        enqueue_on_commit(run_replay, replay.pk)
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
    chunk_size = chunk_size or _setting("EVENTS_REPLAY_CHUNK", 50)
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
        from dashboard.events.models import FAILURE_STATUSES

        with transaction.atomic():
            # Only events still failed/dead go out again: a replay never re-sends a delivery.
            OutboundEvent.objects.filter(id__in=ids, status__in=FAILURE_STATUSES).update(
                status=EventStatus.QUEUED,
                next_attempt_at=timezone.now(),
                attempt_count=0,
                current_replay=replay,
            )
            ReplayItem.objects.filter(id__in=[i.pk for i in items]).update(processed=True)
            Replay.objects.filter(pk=replay_id).update(done=F("done") + len(items))
        events_dispatch(event_ids=ids)


def event_replay_one(*, event: OutboundEvent, actor=None) -> Replay:
    """Replay a single failed/dead event (a replay of one)."""
    plan = replay_plan(events=OutboundEvent.objects.filter(pk=event.pk))
    return replay_start(plan=plan, filters={"event": event.pk}, actor=actor)

"""The outbox rows: queueing events, claiming them for a dispatcher, writing what
became of them, and re-queueing those whose dispatcher was lost.

An event's body and idempotency key are written once, when it is queued, so every
retry sends the same bytes under the same key. A dispatcher *claims* due events (a
conditional UPDATE, ``SKIP LOCKED`` on PostgreSQL) under a token and a lease; only the
holder of the token may record an outcome; events whose lease ran out are *re-queued
by the sweeper* (``core.sweep``).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from psycopg.types.json import Jsonb

from dashboard.accounts.models import ConnectedAccount
from dashboard.core.queueing import attempts_left, claim, send_now, waiting_since
from dashboard.events import counters, preparing
from dashboard.events.models import (
    AttemptOutcome,
    DispatchRequest,
    EventAttempt,
    EventStatus,
    OutboundEvent,
)
from dashboard.events.preparing import EventRefused
from integrations import errors
from integrations.errors import Problem
from integrations.events import PreparedEvent

DISPATCH_TASK = "events.dispatch"


def setting(name: str, default: Any) -> Any:
    return getattr(settings, name, default)


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
        moved=[list(pair) for pair in prepared.moved],
        status=EventStatus.DUPLICATE if duplicate else EventStatus.QUEUED,
        next_attempt_at=now,
        created_by=actor,
        created_at=now,
    )
    # In the caller's transaction, like the row: rolled back together.
    counters.count_moves([(account.pk, now, "", event.status)])
    counters.note_event_type(account.pk, event.event_type)
    if dispatch and not duplicate:
        _dispatch_on_commit(account.pk)
    return event


def _dispatch_on_commit(account_id: int) -> None:
    """Ask for a dispatcher for ``account_id`` after commit (never raising if the
    broker is down: the events stay queued and the sweeper dispatches them).

    One dispatcher run claims every due event of the account, so a transaction that
    queues many events asks once per account, and across requests the account's
    :class:`DispatchRequest` lets at most one message wait (:func:`dispatch_request`).
    """
    # Django keeps the callbacks of the open transaction in ``run_on_commit`` as
    # (savepoint ids, function, robust) and drops them on rollback.
    for entry in connection.run_on_commit:
        callback = entry[1]
        if getattr(callback, "func", None) is dispatch_request and callback.keywords == {
            "account_id": account_id
        }:
            return
    transaction.on_commit(functools.partial(dispatch_request, account_id=account_id))


# --- asking for a dispatcher ------------------------------------------------------------
def dispatch_request(
    *, account_id: int, delay: float = 0.0, stale_before: datetime | None = None
) -> bool:
    """Send a dispatcher message for ``account_id`` (to run in ``delay`` seconds)
    unless one is already waiting that runs no later; ``True`` when one was sent.

    ``stale_before``: a waiting message due before then counts as lost (the sweeper
    passes it; the broker may have dropped the message) and is replaced.
    """
    now = timezone.now()
    run_at = now + timedelta(seconds=max(0.0, delay))
    # INSERT OR IGNORE / ON CONFLICT DO NOTHING: the row exists from here on.
    DispatchRequest.objects.bulk_create(
        [DispatchRequest(account_id=account_id)], ignore_conflicts=True
    )
    free_or_later = Q(token="") | Q(run_at__gt=run_at)
    if stale_before is not None:
        free_or_later |= Q(run_at__lt=stale_before)
    token = uuid.uuid4().hex
    # One conditional UPDATE decides which request sends: concurrent ones (other web
    # threads, other processes) find the row taken and rely on that message.
    if not claim(
        DispatchRequest.objects.filter(free_or_later, account_id=account_id),
        token=token,
        run_at=run_at,
    ):
        return False
    options = {"countdown": delay} if delay > 0 else {}
    if send_now(DISPATCH_TASK, account_id, token, **options):
        return True
    # The broker refused: free the row so the next request (or the sweeper) sends.
    DispatchRequest.objects.filter(account_id=account_id, token=token).update(token="", run_at=None)
    return False


def dispatch_started(*, account_id: int, token: str) -> bool:
    """Free ``account_id``'s request as its dispatcher starts; ``False`` when ``token``
    is not the waiting one (a superseded or redelivered message: do nothing).

    Freed *before* any event is claimed: an event committed after this moment asks
    for (and gets) a new message, and one committed before is claimed by this run.
    """
    return claim(
        DispatchRequest.objects.filter(account_id=account_id, token=token),
        token="",
        run_at=None,
    )


def dispatch_accounts_due(*, stale_before: datetime | None = None) -> int:
    """Ask for a dispatcher for every account with due events; returns how many
    messages were sent (accounts whose message is already waiting send none)."""
    accounts = due_events().order_by().values_list("account_id", flat=True).distinct()
    return sum(dispatch_request(account_id=pk, stale_before=stale_before) for pk in accounts)


def dispatch_again_when_due(*, account_id: int) -> None:
    """After a run: ask for the next one when the account's earliest queued event
    (a retry waiting out its backoff) becomes due, so none is left waiting."""
    next_due = (
        OutboundEvent.objects.filter(account_id=account_id, status=EventStatus.QUEUED)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    if next_due is not None:
        delay = (next_due - timezone.now()).total_seconds()
        dispatch_request(account_id=account_id, delay=delay)


# --- claiming ------------------------------------------------------------------------
def due_events(*, account_id: int | None = None):
    due = OutboundEvent.objects.filter(
        status=EventStatus.QUEUED, next_attempt_at__lte=timezone.now()
    )
    return due if account_id is None else due.filter(account_id=account_id)


def has_due_events(*, account_id: int | None = None) -> bool:
    return due_events(account_id=account_id).exists()


@dataclass
class ClaimedEvent:
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


_CLAIM_COLUMNS = tuple(f.name for f in dataclasses.fields(ClaimedEvent))
_CLAIM_SQL_COLUMNS = ("id", *(c for c in _CLAIM_COLUMNS if c != "pk"))


def _claimed_from_row(row) -> ClaimedEvent:
    envelope = row[4]
    if isinstance(envelope, str):
        envelope = json.loads(envelope)
    return ClaimedEvent(*row[:4], envelope or {}, *row[5:])


def claim_due(
    *, limit: int, event_ids: list[int] | None = None, account_id: int | None = None
) -> tuple[str, list[ClaimedEvent]]:
    """Claim up to ``limit`` due events (of ``account_id``, when given) for this
    dispatcher: (its token, the events). Nobody else gets them until they are
    recorded or their lease runs out."""
    now = timezone.now()
    token = uuid.uuid4().hex
    due = due_events()
    if account_id is not None:
        due = due.filter(account_id=account_id)
    if event_ids is not None:
        due = due.filter(id__in=event_ids)
    due = due.order_by("next_attempt_at", "id")
    claimed_until = now + timedelta(seconds=setting("EVENTS_LEASE_SECONDS", 120))
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
                cursor.execute(sql, [EventStatus.SENDING, token, claimed_until, now, *params])
                rows = cursor.fetchall()
        return token, sorted((_claimed_from_row(r) for r in rows), key=lambda e: e.pk)
    ids = list(due.values_list("id", flat=True)[:limit])
    if not ids:
        return token, []
    # A row another dispatcher claimed meanwhile is no longer queued, so it cannot be
    # claimed twice; what this token holds is read back below.
    claim(
        OutboundEvent.objects.filter(id__in=ids, status=EventStatus.QUEUED),
        status=EventStatus.SENDING,
        claim_token=token,
        claimed_until=claimed_until,
    )
    rows = (
        OutboundEvent.objects.filter(claim_token=token, status=EventStatus.SENDING)
        .order_by("id")
        .values_list("id", *_CLAIM_COLUMNS[1:])
    )
    return token, [_claimed_from_row(r) for r in rows]


# --- recording -----------------------------------------------------------------------
def record_attempts(
    ids: list[int], token: str, values: dict[str, Any], attempt: dict[str, Any]
) -> list[int]:
    """Apply ``values`` to the events of ``ids`` that ``token`` still holds, count the
    try, and add its attempt row to each; returns the ids changed (a dispatcher that
    lost its lease to the sweeper changes nothing)."""
    now = attempt["finished_at"]
    if connection.vendor == "postgresql":
        return _record_in_one_statement(ids, token, values, attempt, now)
    with transaction.atomic():
        held = list(
            OutboundEvent.objects.filter(
                id__in=ids, claim_token=token, status=EventStatus.SENDING
            ).values_list("id", "total_attempts", "current_replay_id", "account_id", "created_at")
        )
        held_ids = [row[0] for row in held]
        OutboundEvent.objects.filter(id__in=held_ids).update(
            claim_token="",
            claimed_until=None,
            attempt_count=F("attempt_count") + 1,
            total_attempts=F("total_attempts") + 1,
            **values,
        )
        EventAttempt.objects.bulk_create(
            [
                EventAttempt(event_id=pk, number=total + 1, replay_id=replay_id, **attempt)
                for pk, total, replay_id, _, _ in held
            ],
            batch_size=2000,
        )
        status = values["status"]
        counters.count_moves(
            (account_id, created_at, EventStatus.SENDING, status)
            for _, _, _, account_id, created_at in held
        )
        if status == EventStatus.DELIVERED:
            counters.count_deliveries(
                (account_id, created_at, values["delivered_at"])
                for _, _, _, account_id, created_at in held
            )
    return held_ids


def record_delivered(
    deliveries: list[tuple[int, datetime, str, int]], token: str, now: datetime
) -> list[int]:
    """Mark delivered the events of ``deliveries`` that ``token`` still holds, each
    with its own attempt: ``(event id, started_at, exchange_id, batch_size)``, one per
    event, so many requests' outcomes are written in one statement (unbatched sends,
    #17: a statement per request would cost as much as the request). Returns the ids
    changed."""
    if not deliveries:
        return []
    values = {"status": EventStatus.DELIVERED, "delivered_at": now, "problem": None}
    if connection.vendor != "postgresql":
        by_id = {pk: (started, exchange, size) for pk, started, exchange, size in deliveries}
        with transaction.atomic():
            held = list(
                OutboundEvent.objects.filter(
                    id__in=list(by_id), claim_token=token, status=EventStatus.SENDING
                ).values_list(
                    "id", "total_attempts", "current_replay_id", "account_id", "created_at"
                )
            )
            OutboundEvent.objects.filter(id__in=[row[0] for row in held]).update(
                claim_token="",
                claimed_until=None,
                attempt_count=F("attempt_count") + 1,
                total_attempts=F("total_attempts") + 1,
                **values,
            )
            EventAttempt.objects.bulk_create(
                [
                    EventAttempt(
                        event_id=pk,
                        number=total + 1,
                        replay_id=replay_id,
                        started_at=by_id[pk][0],
                        finished_at=now,
                        outcome=AttemptOutcome.DELIVERED,
                        batch_size=by_id[pk][2],
                        exchange_id=by_id[pk][1],
                    )
                    for pk, total, replay_id, _, _ in held
                ],
                batch_size=2000,
            )
            # The Overview's counters move with the events (see record_attempts).
            counters.count_moves(
                (account_id, created_at, EventStatus.SENDING, EventStatus.DELIVERED)
                for _, _, _, account_id, created_at in held
            )
            counters.count_deliveries(
                (account_id, created_at, now) for _, _, _, account_id, created_at in held
            )
        return [row[0] for row in held]
    table = OutboundEvent._meta.db_table
    attempts_table = EventAttempt._meta.db_table
    ids, started, exchanges, sizes = (list(column) for column in zip(*deliveries, strict=True))
    moves_sql, moves_params = counters.moves_cte_sql("held", EventStatus.DELIVERED)
    # The per-event attempt values travel as four arrays (unnest), joined to the rows
    # the token still holds.
    # Names come from the models; values are params.
    sql = (
        "WITH sent AS (SELECT * FROM unnest(%s::bigint[], %s::timestamptz[], %s::text[], "  # noqa: S608
        "%s::integer[]) AS s(id, started_at, exchange_id, batch_size)), "
        f"held AS (UPDATE {table} AS e SET status = %s, delivered_at = %s, problem = NULL, "
        "claim_token = '', claimed_until = NULL, attempt_count = e.attempt_count + 1, "
        "total_attempts = e.total_attempts + 1, updated_at = %s FROM sent "
        "WHERE e.id = sent.id AND e.claim_token = %s AND e.status = %s "
        "RETURNING e.id, e.total_attempts, e.current_replay_id, sent.started_at, "
        "sent.exchange_id, sent.batch_size, e.account_id, e.created_at, e.delivered_at), "
        f"recorded AS (INSERT INTO {attempts_table} (event_id, number, replay_id, started_at, "
        "finished_at, outcome, batch_size, exchange_id, problem, retry_at) "
        "SELECT id, total_attempts, current_replay_id, started_at, %s, %s, batch_size, "
        "exchange_id, NULL, NULL FROM held RETURNING event_id)"
        # The Overview's counters move in the same statement (see record_attempts).
        f"{moves_sql}{counters.deliveries_cte_sql('held')} "
        "SELECT event_id FROM recorded"
    )
    params = [
        ids,
        started,
        exchanges,
        sizes,
        EventStatus.DELIVERED,
        now,
        now,
        token,
        EventStatus.SENDING,
        now,
        AttemptOutcome.DELIVERED,
        *moves_params,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def _record_in_one_statement(ids, token, values, attempt, now) -> list[int]:
    def param(column, value):
        return Jsonb(value) if column == "problem" and value is not None else value

    table = OutboundEvent._meta.db_table
    attempts_table = EventAttempt._meta.db_table
    sets = ", ".join(f"{column} = %s" for column in values)
    attempt_columns = list(attempt)
    status = values["status"]
    moves_sql, moves_params = counters.moves_cte_sql("held", status)
    deliveries_sql = counters.deliveries_cte_sql("held") if status == EventStatus.DELIVERED else ""
    # One statement per batch: the events change, their attempts are written and the
    # Overview's counters move together (= ANY(array) keeps the id list a single
    # parameter; PostgreSQL runs every data-modifying CTE whether or not it is read).
    sql = (
        f"WITH held AS (UPDATE {table} SET {sets}, claim_token = '', "  # noqa: S608
        "claimed_until = NULL, attempt_count = attempt_count + 1, "
        "total_attempts = total_attempts + 1, updated_at = %s "
        "WHERE id = ANY(%s) AND claim_token = %s AND status = %s "
        "RETURNING id, total_attempts, current_replay_id, account_id, created_at, "
        "delivered_at), "
        f"recorded AS (INSERT INTO {attempts_table} (event_id, number, replay_id, "
        f"{', '.join(attempt_columns)}) "
        f"SELECT id, total_attempts, current_replay_id, "
        f"{', '.join(['%s'] * len(attempt_columns))} FROM held RETURNING event_id)"
        f"{moves_sql}{deliveries_sql} "
        "SELECT event_id FROM recorded"
    )
    params = [
        *(param(c, v) for c, v in values.items()),
        now,
        list(ids),
        token,
        EventStatus.SENDING,
        *(param(c, v) for c, v in attempt.items()),
        *moves_params,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def release(ids: list[int], token: str, *, next_attempt_at: datetime) -> int:
    """Hand back claimed events that were never sent (the run ran out of time or its
    next send slot is too far off): queued again, due at ``next_attempt_at``, no try
    counted. Only events ``token`` still holds; returns how many."""
    if not ids:
        return 0
    return OutboundEvent.objects.filter(
        id__in=ids, claim_token=token, status=EventStatus.SENDING
    ).update(
        status=EventStatus.QUEUED,
        claim_token="",
        claimed_until=None,
        next_attempt_at=next_attempt_at,
        updated_at=timezone.now(),
    )


# --- sweeping ------------------------------------------------------------------------
def events_sweep() -> int:
    """Re-queue events whose dispatcher lease expired (the worker died mid-send);
    returns how many. Each gets a ``lease_expired`` attempt and goes out again with
    the same bytes and key; one that keeps killing workers ends ``dead``."""
    now = timezone.now()
    max_attempts = setting("EVENTS_MAX_ATTEMPTS", 6)
    expired = list(
        OutboundEvent.objects.filter(status=EventStatus.SENDING, claimed_until__lt=now).values_list(
            "id",
            "claim_token",
            "attempt_count",
            "total_attempts",
            "current_replay_id",
            "account_id",
            "created_at",
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
    for pk, token, attempt_count, total, replay_id, account_id, created_at in expired:
        dead = not attempts_left(attempt_count + 1, cap=max_attempts)
        status = EventStatus.DEAD if dead else EventStatus.QUEUED
        # Conditional on the same claim: a dispatcher that finished meanwhile wins.
        # The counters move with the row (a re-queued one stays counted as queued).
        with transaction.atomic():
            swept_this = claim(
                OutboundEvent.objects.filter(pk=pk, status=EventStatus.SENDING, claim_token=token),
                status=status,
                claim_token="",
                claimed_until=None,
                next_attempt_at=now,
                problem=problem,
                attempt_count=F("attempt_count") + 1,
                total_attempts=F("total_attempts") + 1,
            )
            if swept_this and dead:
                counters.count_moves([(account_id, created_at, EventStatus.SENDING, status)])
        if swept_this:
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


def events_resend_waiting() -> int:
    """The events sweeper, run by ``core.sweep`` (registered in apps.py): re-queue
    lost leases, then make sure due events (re-queued ones, or ones whose dispatch
    never reached the broker) get a dispatcher. Returns how many were re-queued.

    An account's dispatch message that should have run long ago counts as lost and
    is replaced; one still waiting its turn is left alone (no pile of duplicates)."""
    swept = events_sweep()
    dispatch_accounts_due(stale_before=waiting_since())
    return swept

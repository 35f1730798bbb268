"""Delivering the outbox: the dispatcher loop, the provider's adapter, retries.

The dispatcher claims due events (:mod:`dashboard.events.outbox`), groups them by
account, lets the provider's events adapter split them into requests and send each,
and records every event's outcome: delivered, retried with backoff, failed, dead
once its attempts are spent, or held for a person when the provider's answer leaves
it unknown whether the write was applied.
"""

from __future__ import annotations

import functools
import random
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from dashboard.accounts.models import ConnectedAccount
from dashboard.accounts.services import NoActiveCredential, provider_client
from dashboard.calls.context import call_context, exchanges_seen
from dashboard.core.queueing import attempts_left
from dashboard.events import outbox, pacing, sending
from dashboard.events.models import AttemptOutcome, EventStatus, OutboundEvent
from dashboard.events.outbox import ClaimedEvent, setting
from dashboard.events.preparing import adapter_for
from integrations import errors
from integrations.errors import Problem
from integrations.events import EventOutcome, OutcomeKind


@dataclass
class DispatchReport:
    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    dead: int = 0
    held: int = 0
    requests: int = 0
    more: bool = False
    next_retry_in: float | None = None
    # Seconds until the account's next send slot, when a paced run stopped because it
    # was too far off (its events were queued again for then).
    paused_for: float | None = None

    def add(self, other: DispatchReport) -> None:
        for name in ("claimed", "delivered", "retrying", "failed", "dead", "held", "requests"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        if other.next_retry_in is not None:
            self.next_retry_in = min(self.next_retry_in or other.next_retry_in, other.next_retry_in)
        if other.paused_for is not None:
            self.paused_for = max(self.paused_for or 0.0, other.paused_for)


@dataclass
class Outcome:
    """What one send did to some of the claimed events (recorded together)."""

    status: str  # an AttemptOutcome
    event_ids: list[int]
    started_at: datetime
    exchange_id: str = ""
    problem: dict | None = None
    retry_in: float = 0.0
    batch_size: int = 1
    provider_event_ids: dict[int, str] = field(default_factory=dict)


def events_dispatch(
    *,
    budget_seconds: float | None = None,
    event_ids: Iterable[int] | None = None,
    account_id: int | None = None,
) -> DispatchReport:
    """Deliver due events (of ``account_id``, when given) until none is left or the
    time budget is spent.

    Claims at most ``EVENTS_CLAIM_SIZE`` events at a time, so memory stays flat
    whatever the backlog; ``report.more`` says the budget ran out first.
    """
    budget = budget_seconds if budget_seconds is not None else setting("EVENTS_DISPATCH_BUDGET", 50)
    deadline = time.monotonic() + budget
    ids = list(event_ids) if event_ids is not None else None
    report = DispatchReport()
    limit = setting("EVENTS_CLAIM_SIZE", 5000)
    lease = setting("EVENTS_LEASE_SECONDS", 120)
    paced_account = _paced(account_id)
    if paced_account is not None:
        # No more than the run can send at the account's pace before its budget or
        # half its lease is spent: the rest stays queued for the next run (or a
        # helper), never claimed only to wait out the lease.
        limit = min(limit, pacing.pace_for(paced_account).slots_within(min(budget, lease / 2)))
    while True:
        if time.monotonic() > deadline:
            report.more = outbox.has_due_events(account_id=account_id)
            return report
        token, claimed = outbox.claim_due(limit=limit, event_ids=ids, account_id=account_id)
        if not claimed:
            return report
        # Sends stop in time for the claim to be recorded well inside its lease.
        until = time.time() + min(
            deadline - time.monotonic(), lease - min(LEASE_MARGIN_SECONDS, lease / 4)
        )
        report.claimed += len(claimed)
        if paced_account is not None:
            found_none: list[bool] = []
            claim_next = functools.partial(_claim_paced, account_id, limit, ids, found_none)
            _ask_for_helper(account_id, claimed, limit)
            report.add(deliver(paced_account, claimed, token, send_until=until, more=claim_next))
            if report.paused_for is not None:
                # The account's next slot is far off: its run resumes then (tasks.py).
                return report
            if found_none:
                # The run's last claim found nothing due: it ends, as an unpaced one
                # does after its empty claim (what queues later asks for a new run).
                return report
            continue
        by_account: dict[int, list[ClaimedEvent]] = defaultdict(list)
        for event in claimed:
            by_account[event.account_id].append(event)
        accounts = ConnectedAccount.objects.in_bulk(list(by_account))
        for account_id_, events in by_account.items():
            report.add(deliver(accounts[account_id_], events, token, send_until=until))


def _claim_paced(
    account_id, limit, ids, found_none: list[bool]
) -> tuple[str, list[ClaimedEvent]] | None:
    """The paced account's next claim (taken while the last requests are in flight);
    notes in ``found_none`` when there was nothing left to claim."""
    token, claimed = outbox.claim_due(limit=limit, event_ids=ids, account_id=account_id)
    if not claimed:
        found_none.append(True)
        return None
    _ask_for_helper(account_id, claimed, limit)
    return token, claimed


def _ask_for_helper(account_id: int, claimed: list, limit: int) -> None:
    if len(claimed) == limit:
        # More are waiting: ask for a helper run (another worker, when one is free);
        # the shared pace keeps them all within the limit. Coalesced: at most one
        # message waits (outbox.dispatch_request).
        outbox.dispatch_request(account_id=account_id)


# A paced run stops sending this long before its claim's lease runs out (a quarter of
# the lease when that is shorter).
LEASE_MARGIN_SECONDS = 15


def _paced(account_id: int | None) -> ConnectedAccount | None:
    """The account, when a dispatch for it is paced."""
    if account_id is None:
        return None
    account = ConnectedAccount.objects.filter(pk=account_id).first()
    if account is None or not pacing.pace_for(account).paced:
        return None
    return account


def deliver(
    account: ConnectedAccount,
    events: list[ClaimedEvent],
    token: str,
    *,
    send_until: float | None = None,
    more=None,
) -> DispatchReport:
    """Send ``events`` (all of ``account``, claimed under ``token``) and record them.

    A paced account's requests go out at its pace, several at a time, until
    ``send_until`` (epoch seconds); those not sent by then are queued again.
    ``more()``: the account's next claim, ``(token, events)`` or None, taken while
    the last requests are in flight (paced accounts only)."""
    started = timezone.now()
    if not account.is_enabled:
        problem = Problem.build(
            account.provider,
            errors.CONFIGURATION,
            title="Account disabled",
            detail=f"{account.name} is disabled; enable it and replay the event.",
            retryable=False,
        )
        return finish(events, token, [_failure(events, started, problem)])
    adapter = adapter_for(account.provider)
    if adapter is None:
        problem = Problem.build(
            account.provider,
            errors.CONFIGURATION,
            title="Provider takes no events",
            detail=f"{account.provider} does not take events.",
            retryable=False,
        )
        return finish(events, token, [_failure(events, started, problem)])
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
        return finish(events, token, [_failure(events, started, problem)])
    pace = pacing.pace_for(account)
    if pace.paced:
        return _deliver_paced(account, adapter, client, events, token, pace, send_until, more)
    outcomes: list[Outcome] = []
    for batch in adapter.batches(events, client=client):
        started = timezone.now()
        sent, exchange_id = _send(batch, lambda batch=batch: adapter.send_batch(client, batch))
        outcomes.extend(_grouped(sent, started, exchange_id, batch_size=len(batch)))
    return finish(events, token, outcomes)


@dataclass
class _SentRequest:
    token: str
    batch: list[ClaimedEvent]
    started: datetime
    outcomes: list[EventOutcome]
    exchange_id: str


def _deliver_paced(
    account, adapter, client, events, token, pace, send_until, more=None
) -> DispatchReport:
    """``events`` at the account's pace; ``more()`` claims the next ones, as
    ``(token, events)`` or None, while the last are still being sent."""
    report = DispatchReport()
    claims: dict[str, list[ClaimedEvent]] = {}
    # Events of each claim not yet recorded or handed back (the claim is then forgotten).
    open_events: dict[str, int] = {}

    def requests_of(claim_token, claimed):
        claims[claim_token] = claimed
        open_events[claim_token] = len(claimed)
        return [(claim_token, batch) for batch in adapter.batches(claimed, client=client)]

    def close(claim_token, count):
        open_events[claim_token] -= count
        if open_events[claim_token] <= 0:
            del claims[claim_token], open_events[claim_token]

    def send(request):  # in a pool thread
        claim_token, batch = request
        started = timezone.now()
        sent, exchange_id = _send(batch, lambda: adapter.send_batch(client, batch))
        return _SentRequest(claim_token, batch, started, sent, exchange_id)

    def retry_after_of(request: _SentRequest) -> float | None:
        waits = [
            o.problem.retry_after
            for o in request.outcomes
            if o.problem is not None
            and o.problem.kind == errors.RATE_LIMITED
            and o.problem.retry_after
        ]
        return max(waits, default=None)

    def record(sent: list[_SentRequest]) -> None:
        by_claim: dict[str, list[_SentRequest]] = defaultdict(list)
        for request in sent:
            by_claim[request.token].append(request)
        for claim_token, requests in by_claim.items():
            outcomes: list[Outcome] = []
            for request in requests:
                outcomes.extend(
                    _grouped(
                        request.outcomes,
                        request.started,
                        request.exchange_id,
                        batch_size=len(request.batch),
                    )
                )
            report.add(finish(claims[claim_token], claim_token, outcomes))
            close(claim_token, sum(len(r.batch) for r in requests))

    def claim_more():
        if sum(open_events.values()) > len(events):
            # One claim ahead is enough: the next waits until this one is recorded.
            return []
        claimed = more() if more is not None else None
        if not claimed:
            return None
        report.claimed += len(claimed[1])
        return requests_of(*claimed)

    run = sending.send_paced(
        account_id=account.pk,
        requests=requests_of(token, events),
        pace=pace,
        send=send,
        retry_after_of=retry_after_of,
        record=record,
        deadline=send_until if send_until is not None else time.time() + 60,
        more=claim_more if more is not None else None,
    )
    if run.unsent:
        resume_at = run.resume_at or time.time()
        unsent: dict[str, list[int]] = defaultdict(list)
        for claim_token, batch in run.unsent:
            unsent[claim_token].extend(e.pk for e in batch)
        for claim_token, ids in unsent.items():
            outbox.release(ids, claim_token, next_attempt_at=datetime.fromtimestamp(resume_at, UTC))
        if run.resume_at is not None:
            report.paused_for = max(0.0, run.resume_at - time.time())
    return report


def _send(batch: list[ClaimedEvent], call) -> tuple[list[EventOutcome], str]:
    """Run ``call`` (one request); returns its outcomes and the id of the exchange that
    carried it. The call's row is not read back: the background call-log writer saves
    it a moment later, and the event page joins on the id."""
    correlation = uuid.uuid4().hex
    with (
        call_context(correlation_id=correlation, subject_type="event", subject_id=batch[0].pk),
        exchanges_seen() as seen,
    ):
        sent = call()
    return sent, (seen[-1] if seen else "")


def _grouped(
    sent: list[EventOutcome], started: datetime, exchange_id: str, *, batch_size: int
) -> list[Outcome]:
    """The adapter's per-event outcomes of one request as the groups recorded
    together: every accepted event in one, failures by the Problem they share."""
    delivered = Outcome(AttemptOutcome.DELIVERED, [], started, exchange_id, batch_size=batch_size)
    failures: dict[tuple[int, bool], tuple[Problem, list[ClaimedEvent]]] = {}
    for outcome in sent:
        if outcome.kind == OutcomeKind.ACCEPTED:
            delivered.event_ids.append(outcome.event.pk)
            if outcome.provider_event_id:
                delivered.provider_event_ids[outcome.event.pk] = outcome.provider_event_id
            continue
        problem = outcome.problem or Problem.build("switchyard", errors.UNKNOWN, retryable=False)
        held = outcome.kind == OutcomeKind.HELD
        failures.setdefault((id(problem), held), (problem, []))[1].append(outcome.event)
    grouped = [delivered] if delivered.event_ids else []
    for (_, held), (problem, events) in failures.items():
        failure = _failure(events, started, problem, exchange_id, batch_size=batch_size)
        if held:
            # Neither retried nor failed: a person settles it (replay or discard).
            failure.status, failure.retry_in = AttemptOutcome.HELD, 0.0
        grouped.append(failure)
    return grouped


def _failure(events, started, problem: Problem, exchange_id="", *, batch_size=None) -> Outcome:
    retry_in = 0.0
    status = AttemptOutcome.FAILED
    if problem.retryable:
        status = AttemptOutcome.RETRY
        retry_in = retry_delay(max(e.attempt_count for e in events) + 1, problem.retry_after)
    return Outcome(
        status=status,
        event_ids=[e.pk for e in events],
        started_at=started,
        exchange_id=exchange_id,
        problem=problem.to_dict(),
        retry_in=retry_in,
        batch_size=batch_size or len(events),
    )


def retry_delay(attempt: int, retry_after: float | None) -> float:
    """Exponential backoff with full jitter; a Retry-After is honoured up to a cap."""
    base = setting("EVENTS_RETRY_BASE_SECONDS", 2.0)
    cap = setting("EVENTS_RETRY_MAX_SECONDS", 300.0)
    delay = random.uniform(base, min(cap, base * 2 ** (attempt - 1)))
    if retry_after is not None:
        delay = max(delay, min(retry_after, setting("EVENTS_RETRY_AFTER_CAP_SECONDS", 300.0)))
    return delay


def _store_provider_event_ids(outcomes: list[Outcome], ids: list[int]) -> None:
    recorded = set(ids)
    for outcome in outcomes:
        for pk, provider_event_id in outcome.provider_event_ids.items():
            if pk in recorded and provider_event_id:
                OutboundEvent.objects.filter(pk=pk).update(
                    provider_event_id=provider_event_id[:100]
                )


def finish(events: list[ClaimedEvent], token: str, outcomes: list[Outcome]) -> DispatchReport:
    """Store each event's outcome and its attempt, for events still held by ``token``
    (a dispatcher that lost its lease to the sweeper writes nothing)."""
    report = DispatchReport(requests=len({o.exchange_id for o in outcomes if o.exchange_id}))
    by_id = {e.pk: e for e in events}
    now = timezone.now()
    max_attempts = setting("EVENTS_MAX_ATTEMPTS", 6)
    delivered = [o for o in outcomes if o.status == AttemptOutcome.DELIVERED and o.event_ids]
    if len(delivered) > 1:
        # Many requests' deliveries (unbatched sends): one statement for all of them.
        ids = outbox.record_delivered(
            [
                (pk, outcome.started_at, outcome.exchange_id, outcome.batch_size)
                for outcome in delivered
                for pk in outcome.event_ids
            ],
            token,
            now,
        )
        _store_provider_event_ids(delivered, ids)
        report.delivered += len(ids)
        outcomes = [o for o in outcomes if o.status != AttemptOutcome.DELIVERED]
    for outcome in outcomes:
        if not outcome.event_ids:
            continue
        attempt = {
            "started_at": outcome.started_at,
            "finished_at": now,
            "batch_size": outcome.batch_size,
            "exchange_id": outcome.exchange_id,
            "problem": outcome.problem,
            "retry_at": None,
        }
        if outcome.status == AttemptOutcome.DELIVERED:
            ids = outbox.record_attempts(
                outcome.event_ids,
                token,
                {"status": EventStatus.DELIVERED, "delivered_at": now, "problem": None},
                {**attempt, "outcome": AttemptOutcome.DELIVERED, "problem": None},
            )
            _store_provider_event_ids([outcome], ids)
            report.delivered += len(ids)
        elif outcome.status == AttemptOutcome.HELD:
            ids = outbox.record_attempts(
                outcome.event_ids,
                token,
                {"status": EventStatus.HELD, "problem": outcome.problem},
                {**attempt, "outcome": AttemptOutcome.HELD},
            )
            report.held += len(ids)
        elif outcome.status == AttemptOutcome.FAILED:
            ids = outbox.record_attempts(
                outcome.event_ids,
                token,
                {"status": EventStatus.FAILED, "problem": outcome.problem},
                {**attempt, "outcome": AttemptOutcome.FAILED},
            )
            report.failed += len(ids)
        else:
            exhausted = {
                pk
                for pk in outcome.event_ids
                if not attempts_left(by_id[pk].attempt_count + 1, cap=max_attempts)
            }
            retrying = [pk for pk in outcome.event_ids if pk not in exhausted]
            if exhausted:
                ids = outbox.record_attempts(
                    sorted(exhausted),
                    token,
                    {"status": EventStatus.DEAD, "problem": outcome.problem},
                    {**attempt, "outcome": AttemptOutcome.DEAD},
                )
                report.dead += len(ids)
            if retrying:
                retry_at = now + timedelta(seconds=outcome.retry_in)
                ids = outbox.record_attempts(
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

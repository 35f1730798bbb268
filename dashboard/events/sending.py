"""Sending one account's requests at its pace, several at a time (#17).

The calling thread reserves send slots (:mod:`dashboard.events.pacing`) a few at a
time (a quarter second's worth, at most four per pool thread), hands each request
to a small thread pool (at most the account's ``concurrency`` in flight, all over
the account's pooled keep-alive session) and records what came back as it comes,
so the pool never waits for the database. A pool thread sends its request no
earlier than its slot and gives the slot up when it could not go within
``EVENTS_PACE_LATE_SECONDS`` of it (the request goes back in line for a new one).
A 429 with Retry-After holds the account for everyone (this run's threads and,
through the shared row, every other worker).

A run stops taking slots at its deadline (budget, lease), or when the next slot is
more than ``EVENTS_PACE_MAX_WAIT_SECONDS`` away: the requests left are handed back
to the caller, which queues their events again for when the account is free.
"""

from __future__ import annotations

import contextvars
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from django.db import connections

from dashboard.events import pacing
from dashboard.events.outbox import setting
from dashboard.events.pacing import Pace

B = TypeVar("B")  # one request's worth of events
S = TypeVar("S")  # what sending it returned

# Sent requests recorded together, at most (one recording every so many).
RECORD_EVERY = 200


@dataclass
class PacedRun(Generic[B]):
    """What a paced run left: requests never sent, and when the account's next slot
    is free if the run stopped because it was too far off (epoch seconds)."""

    unsent: list[B] = field(default_factory=list)
    resume_at: float | None = None


class _Hold:
    """Until when this run's threads must not send (a provider's Retry-After)."""

    def __init__(self) -> None:
        self.until = 0.0


def send_paced(
    *,
    account_id: int,
    requests: Sequence[B],
    pace: Pace,
    send: Callable[[B], S],
    retry_after_of: Callable[[S], float | None],
    record: Callable[[list[S]], None],
    deadline: float,
    more: Callable[[], Sequence[B] | None] | None = None,
) -> PacedRun[B]:
    """Send every request of ``requests`` with ``send`` (in pool threads) at
    ``pace``; ``record`` (in this thread) gets the results in groups. ``deadline``:
    epoch seconds after which no slot is taken. ``more``: called for further requests
    once all are handed out while the last are still in flight (the next claim, so
    sending never pauses for it): ``None`` means there are none, an empty list none
    yet (the caller holds enough)."""
    late = setting("EVENTS_PACE_LATE_SECONDS", 0.01)
    max_wait = setting("EVENTS_PACE_MAX_WAIT_SECONDS", 5.0)
    # Slots reserved per statement: a quarter second's worth, but no more than the
    # pool can start before they pass (a slot whose request waits in the pool's queue
    # past it is wasted, for every worker).
    chunk = max(pace.concurrency, min(pace.slots_within(0.25), 4 * pace.concurrency))
    waiting: deque[B] = deque(requests)
    in_flight: dict[Future, B] = {}
    results: list[S] = []
    hold = _Hold()
    run = PacedRun[B]()
    stopped = False
    with ThreadPoolExecutor(max_workers=pace.concurrency, thread_name_prefix="events-send") as pool:
        while waiting or in_flight:
            if more is not None and not stopped and not waiting and len(in_flight) < 2 * chunk:
                fetched = more() if time.time() < deadline else None
                if fetched is None:
                    more = None
                else:
                    waiting.extend(fetched)
            if waiting and not stopped and len(in_flight) < 2 * chunk:
                take = [waiting.popleft() for _ in range(min(chunk, len(waiting)))]
                slots = pacing.reserve(account_id, len(take), pace.interval)
                limit = min(deadline, time.time() + max_wait)
                usable = sum(1 for at in slots.times if at <= limit)
                if usable < len(take):
                    # Too far off: hand the rest back (and their slots, if still last).
                    pacing.give_back(account_id, slots, len(take) - usable)
                    waiting.extendleft(reversed(take[usable:]))
                    run.resume_at = slots.times[usable]
                    stopped = True
                for request, at in zip(take[:usable], slots.times, strict=False):
                    # Each thread runs in a copy of this context (the call context).
                    context = contextvars.copy_context()
                    future = pool.submit(context.run, _send_at, request, at, late, hold, send)
                    in_flight[future] = request
            if not in_flight:
                break
            finished, _ = wait(in_flight, timeout=0.05, return_when=FIRST_COMPLETED)
            for future in finished:
                request = in_flight.pop(future)
                result = future.result()
                if result is _FORFEITED:
                    # Late for its slot, or the provider asked for a pause: back in
                    # line for a new slot (or back to the outbox once stopped).
                    waiting.appendleft(request)
                    continue
                retry_after = retry_after_of(result)
                if retry_after:
                    until = time.time() + retry_after
                    hold.until = max(hold.until, until)
                    pacing.hold_until(account_id, until)
                results.append(result)
            if len(results) >= RECORD_EVERY or (results and not in_flight):
                record(results)
                results = []
    if results:
        record(results)
    run.unsent = list(waiting)
    return run


_FORFEITED = object()


def _send_at(request, at: float, late: float, hold: _Hold, send):
    """In a pool thread: wait for the slot ``at``, then send, unless too late for it
    or the provider asked this run to hold past it."""
    try:
        delay = at - time.time()
        if delay > 0:
            time.sleep(delay)
        if hold.until > at or time.time() > at + late:
            return _FORFEITED
        return send(request)
    finally:
        # A call row written inline (the call-log queue full) opened this thread's own
        # connection: close it before the pool goes, or it stays open on the server.
        for connection in connections.all(initialized_only=True):
            connection.close()

"""Typed views of Octy's answers, plus reading partial-failure batches back.

Batch writes succeed in part (providers/octy.md: success bodies): valid objects are
processed and the invalid ones come back in ``failed_to_*`` lists whose entries use
the operation's own key (``customer_id``, ``profile_id``, ``item_id``, ``event_type``…)
or the source doc's generic ``identifier`` [conflict]. Each failure is mapped back to
the position of the input it is about, so a caller can tell which of its objects
failed without re-reading the provider's shapes.
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from integrations.errors import Problem
from integrations.octy.problems import HOLD_ADVICE, identifier_of


def _dict(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class Profile:
    profile_id: str
    customer_id: str
    profile_data: dict[str, Any]
    platform_info: dict[str, Any]
    has_charged: bool
    status: str
    created_at: str = ""
    rfm_score: int | None = None
    churn_prob: str | None = None
    segments: tuple[str, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Profile:
        if not isinstance(data, dict) or not data.get("profile_id"):
            raise ValueError("profile entry without profile_id")
        segments = data.get("segments") or ()
        return cls(
            profile_id=str(data["profile_id"]),
            customer_id=str(data.get("customer_id") or ""),
            profile_data=_dict(data.get("profile_data")),
            platform_info=_dict(data.get("platform_info")),
            has_charged=bool(data.get("has_charged")),
            status=str(data.get("status") or ""),
            created_at=str(data.get("created_at") or ""),
            rfm_score=_int_or_none(data.get("rfm_score", data.get("rfm"))),
            churn_prob=data.get("churn_prob") or data.get("churn_probability") or None,
            segments=tuple(str(s) for s in segments) if isinstance(segments, list) else (),
            raw=data,
        )


@dataclass(frozen=True)
class ProfilePage:
    """One page of a profile listing; ``next_cursor`` None means there is no more."""

    profiles: list[Profile]
    next_cursor: str | None
    cursor: str = ""


@dataclass(frozen=True)
class ProfileMetadata:
    profile_id: str
    customer_id: str
    deleted: bool
    merged_into: str | None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProfileMetadata:
        return cls(
            profile_id=str(data.get("profile_id") or ""),
            customer_id=str(data.get("customer_id") or ""),
            deleted=bool(data.get("deleted")),
            merged_into=data.get("merged_into") or None,
            raw=data,
        )


@dataclass(frozen=True)
class Page:
    """One page of event types, items or segments (raw dicts, newest shape)."""

    entries: list[dict[str, Any]]
    next_cursor: str | None
    cursor: str = ""
    total: int | None = None


@dataclass(frozen=True)
class CreatedEvent:
    event_id: str
    event_type: str
    profile_id: str
    created_at: str = ""
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CreatedEvent:
        return cls(
            event_id=str(data.get("event_id") or ""),
            event_type=str(data.get("event_type") or ""),
            profile_id=str(data.get("profile_id") or ""),
            created_at=str(data.get("created_at") or ""),
            raw=data,
        )


@dataclass(frozen=True)
class FailedItem:
    """One object Octy refused; ``index`` is its position in the request when known."""

    identifier: str | None
    error_message: str
    raw: dict[str, Any] = field(default_factory=dict, compare=False)
    index: int | None = None


@dataclass(frozen=True)
class BatchResult:
    """``succeeded`` as Octy listed them; ``unreported`` the input positions Octy took
    with a 2xx that listed no results (a success for each, with nothing to show)."""

    succeeded: list[Any]
    failed: list[FailedItem]
    unreported: tuple[int, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.failed


CREATED = "created"
FAILED = "failed"
UNKNOWN = "unknown"
AMBIGUOUS = "ambiguous"


@dataclass(frozen=True)
class EventOutcome:
    """What happened to the event at ``index`` of a batch.

    ``status``: "created" (``event_id`` None when Octy's success listed no events),
    "failed", "unknown" when Octy's answer cannot be matched to this event (count
    mismatch), or "ambiguous" after a 500 to the write. For unknown and ambiguous
    ``hold_for_person`` is True: a dispatcher holds the event for a person ("check
    in Octy, then replay or discard") and never resends it by itself.
    """

    index: int
    status: str
    event_id: str | None = None
    error_message: str = ""
    hold_for_person: bool = False
    advice: str = ""


def held_outcomes(count: int, problem: Problem) -> list[EventOutcome]:
    """Per-event outcomes for a batch whose write failed ambiguously (see
    :func:`integrations.octy.problems.is_held_for_person`): every event is held."""
    return [
        EventOutcome(i, AMBIGUOUS, None, problem.detail, hold_for_person=True, advice=HOLD_ADVICE)
        for i in range(count)
    ]


@dataclass(frozen=True)
class EventBatchResult(BatchResult):
    outcomes: list[EventOutcome] = field(default_factory=list)


# --- mapping failures back to inputs --------------------------------------------

Key = tuple[Any, ...]
CHECK_ADVICE = (
    "Octy's answer could not be matched to this event: check in Octy, then replay or discard it."
)


def event_key(entry: dict[str, Any]) -> Key:
    properties = entry.get("event_properties")
    canonical = json.dumps(properties, sort_keys=True, default=str) if properties else None
    return (entry.get("event_type"), entry.get("profile_id"), canonical)


def claim_indices(
    entries: Sequence[dict[str, Any]],
    input_keys: Sequence[Sequence[Any]],
    entry_key: Callable[[dict[str, Any]], Any],
) -> list[int | None]:
    """For each entry, the first unclaimed input index whose key set contains its key.

    ``input_keys[i]`` lists every value input ``i`` may be named by (a profile by its
    profile_id or customer_id; an event by its full key, its (type, profile) pair or
    either alone for the generic ``identifier`` shape).
    """
    slots: dict[Any, deque[int]] = defaultdict(deque)
    for index, keys in enumerate(input_keys):
        for key in keys:
            slots[key].append(index)
    claimed: set[int] = set()
    found: list[int | None] = []
    for entry in entries:
        index = None
        for key in entry_key(entry):
            queue = slots.get(key)
            while queue and queue[0] in claimed:
                queue.popleft()
            if queue:
                index = queue.popleft()
                break
        if index is not None:
            claimed.add(index)
        found.append(index)
    return found


def failed_items(
    entries: Any, input_keys: Sequence[Sequence[Any]], entry_key: Callable[..., Any]
) -> list[FailedItem]:
    entries = [e for e in entries if isinstance(e, dict)] if isinstance(entries, list) else []
    indices = claim_indices(entries, input_keys, entry_key)
    return [
        FailedItem(
            identifier=identifier_of(entry),
            error_message=str(entry.get("error_message") or ""),
            raw=entry,
            index=index,
        )
        for entry, index in zip(entries, indices, strict=True)
    ]


def plain_entry_keys(entry: dict[str, Any]) -> list[Any]:
    ident = identifier_of(entry)
    return [ident] if ident is not None else []


def event_entry_keys(entry: dict[str, Any]) -> list[Any]:
    full = event_key(entry)
    keys: list[Any] = [full, full[:2]]
    ident = entry.get("identifier")
    if ident is not None:
        keys.append(("identifier", str(ident)))
    return keys


def event_input_keys(bodies: Sequence[dict[str, Any]]) -> list[list[Any]]:
    keys = []
    for body in bodies:
        full = event_key(body)
        keys.append(
            [
                full,
                full[:2],
                ("identifier", str(body.get("event_type"))),
                ("identifier", str(body.get("profile_id"))),
            ]
        )
    return keys


def event_outcomes(
    bodies: Sequence[dict[str, Any]],
    created: list[dict[str, Any]],
    failed: list[FailedItem],
    *,
    reported: bool = True,
) -> list[EventOutcome]:
    """Per-input outcome: failures by their mapped index, created events by their fields
    (event_type, profile_id, properties), then by order among the remaining inputs
    when all failures were placed; whatever is left is "unknown".

    ``reported`` False: Octy's 2xx carried no ``created_events`` list, so every input
    not listed as failed was created (with no event id to show).
    """
    failed_at = {f.index: f for f in failed if f.index is not None}
    rest = [i for i in range(len(bodies)) if i not in failed_at]
    if not reported:
        return [
            EventOutcome(i, FAILED, None, failed_at[i].error_message)
            if i in failed_at
            else EventOutcome(i, CREATED)
            for i in range(len(bodies))
        ]
    by_key: dict[Key, deque[dict[str, Any]]] = defaultdict(deque)
    for event in created:
        by_key[event_key(event)].append(event)
    matched: dict[int, dict[str, Any]] = {}
    for i in rest:
        queue = by_key.get(event_key(bodies[i]))
        if queue:
            matched[i] = queue.popleft()
    leftovers = deque(e for q in by_key.values() for e in q)
    # Pairing by order is only safe when every failure was placed: otherwise an
    # unplaced failure might be any of the remaining inputs.
    if all(f.index is not None for f in failed):
        for i in rest:
            if i not in matched and leftovers:
                matched[i] = leftovers.popleft()
    outcomes = []
    for i in range(len(bodies)):
        if i in failed_at:
            outcomes.append(EventOutcome(i, FAILED, None, failed_at[i].error_message))
        elif i in matched:
            outcomes.append(EventOutcome(i, CREATED, str(matched[i].get("event_id") or "")))
        else:
            outcomes.append(EventOutcome(i, UNKNOWN, hold_for_person=True, advice=CHECK_ADVICE))
    return outcomes

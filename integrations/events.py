"""What the console's events feature asks of a provider that takes events.

A provider that takes events sets ``events = <its adapter>()`` on its
:class:`~integrations.provider.Provider` declaration; the adapter lives in
``integrations/<key>/events.py`` and subclasses :class:`EventsAdapter`. The outbox
(``dashboard/events``) never names a provider: it stores what :meth:`EventsAdapter.prepare`
returns, byte for byte, and later hands the stored events back, grouped by
:meth:`EventsAdapter.batches`, to :meth:`EventsAdapter.send_batch`, one request each, and
records the :class:`EventOutcome` of every event.
"""

from __future__ import annotations

import enum
import json
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar, Protocol, TypeVar

from integrations import errors
from integrations.errors import PayloadError, Problem, ProviderError
from integrations.provider import Field


class OutcomeKind(enum.StrEnum):
    """What one send did to one event."""

    ACCEPTED = "accepted"
    # The provider may take it later (unavailable, rate limited...): retry with backoff.
    FAILED_RETRYABLE = "failed_retryable"
    # Sending the same bytes again cannot work: the event fails until someone replays it.
    FAILED_PERMANENT = "failed_permanent"
    # The provider may or may not have applied it and keeps no duplicate check: neither
    # resent nor failed; a person checks at the provider, then replays or discards it.
    HELD = "held"


@dataclass(frozen=True)
class PreparedEvent:
    """An event ready to be stored and sent: ``body`` is the exact JSON the provider
    receives; ``envelope`` what travels beside it (a header value, say)."""

    event_type: str
    body: str
    size_bytes: int
    idempotency_key: str
    user_id: str = ""
    identifiers: dict[str, str] = field(default_factory=dict)
    envelope: dict[str, Any] = field(default_factory=dict)
    converted_from_v1: bool = False
    warnings: tuple[str, ...] = ()
    # What a conversion moved, as ``(from, to)`` paths, so it is never silent.
    moved: tuple[tuple[str, str], ...] = ()

    @property
    def payload(self) -> Any:
        return json.loads(self.body)


class InvalidEvent(PayloadError):
    """The event cannot be sent; ``errors`` lists every reason (``path: message``)."""

    def __init__(self, errors: Sequence[str]):
        super().__init__("", "; ".join(errors))
        self.errors = list(errors)


class StoredEvent(Protocol):
    """What the adapter needs of an event the outbox stored."""

    body: str
    envelope: Mapping[str, Any]
    idempotency_key: str


E = TypeVar("E", bound=StoredEvent)


@dataclass(frozen=True)
class EventOutcome:
    """What became of ``event`` (the very object handed to :meth:`send_batch`)."""

    event: Any
    kind: OutcomeKind
    problem: Problem | None = None
    provider_event_id: str = ""

    @classmethod
    def accepted(cls, event: Any, provider_event_id: str = "") -> EventOutcome:
        return cls(event, OutcomeKind.ACCEPTED, provider_event_id=provider_event_id)

    @classmethod
    def failed(cls, event: Any, problem: Problem) -> EventOutcome:
        """Retryable or permanent as ``problem`` says."""
        kind = OutcomeKind.FAILED_RETRYABLE if problem.retryable else OutcomeKind.FAILED_PERMANENT
        return cls(event, kind, problem=problem)

    @classmethod
    def held(cls, event: Any, problem: Problem) -> EventOutcome:
        """The send's effect is unknown (``problem`` says why): held for a person."""
        return cls(event, OutcomeKind.HELD, problem=problem)


class EventsAdapter(ABC):
    """One provider's events: composing, preparing, batching and sending them."""

    # The provider key, for the Problems the adapter builds itself.
    provider: ClassVar[str]
    # Most events one request carries; ``None`` where only a byte limit applies (then
    # :meth:`batches` is overridden).
    max_batch: ClassVar[int | None] = 1
    # Starting points for the composer: template name -> payload.
    templates: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    # What the composer's payload box takes, for its help text ("the track payload").
    payload_help: ClassVar[str] = ""
    # Extra composer fields passed to :meth:`prepare` as ``options`` (name -> value).
    options: ClassVar[tuple[Field, ...]] = ()
    # Shown when :attr:`PreparedEvent.converted_from_v1`: the composer's sentence and
    # the event page's "Converted from ..." format name.
    converted_note: ClassVar[str] = ""
    converted_format: ClassVar[str] = ""
    # What the event inspector should warn about this provider, if anything.
    inspector_note: ClassVar[str] = ""
    # How a delivered event is named where its provider's 2xx proves less than delivery
    # ("Accepted by the collect endpoint"), and what staff should check; empty: "Delivered".
    delivered_label: ClassVar[str] = ""
    delivered_note: ClassVar[str] = ""
    # The event page's one sentence for a held event (see :attr:`OutcomeKind.HELD`).
    held_note: ClassVar[str] = ""

    def event_types(self) -> list[str]:
        """The event types the composer suggests."""
        return sorted(self.templates)

    def prepare(
        self,
        payload: dict[str, Any],
        *,
        event_type: str = "",
        options: Mapping[str, Any] | None = None,
        now: datetime | None = None,
    ) -> PreparedEvent:
        """Validate ``payload`` (a JSON object), fill what the provider needs and the
        user left out, and encode the body once. Raises :class:`PayloadError`
        (:class:`InvalidEvent` when there are several reasons)."""
        try:
            return self.build(payload, event_type, dict(options or {}), now or datetime.now(UTC))
        except PayloadError:
            raise
        except (ValueError, TypeError) as exc:
            # A validator tripping over a value of the wrong shape (a list where an
            # object belongs) is still the payload's fault: the console sees one type.
            raise PayloadError("", str(exc)) from None

    @abstractmethod
    def build(
        self, payload: dict[str, Any], event_type: str, options: dict[str, Any], now: datetime
    ) -> PreparedEvent:
        """:meth:`prepare` for this provider; ``event_type`` is stripped, may be empty."""

    def batches(self, events: Sequence[E], *, client: Any = None) -> Iterator[list[E]]:
        """``events`` in the groups one request each carries, in order. ``client`` is
        the account's client, for providers whose grouping depends on the account
        (a Commanders Act source outside the batch beta sends one event a request)."""
        size = self.max_batch or len(events) or 1
        for start in range(0, len(events), size):
            yield list(events[start : start + size])

    @abstractmethod
    def send_batch(self, client: Any, events: Sequence[E]) -> list[EventOutcome]:
        """Send one group from :meth:`batches` in one request; an outcome per event
        (an event the provider's answer says nothing about gets none). Provider
        failures come back as failed outcomes, never raised."""

    def problem_of(self, error: ProviderError | PayloadError) -> Problem:
        """The Problem a failed send is recorded with."""
        if isinstance(error, ProviderError):
            return error.problem
        return Problem.build(
            self.provider, errors.INVALID_REQUEST, detail=str(error), retryable=False
        )

    def all_failed(self, events: Sequence[Any], problem: Problem) -> list[EventOutcome]:
        """Every event of one request failed the same way (one Problem for all)."""
        return [EventOutcome.failed(event, problem) for event in events]

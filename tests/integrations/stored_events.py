"""A stand-in for the events the outbox stores, for the events adapter tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from integrations.events import PreparedEvent


@dataclass
class Stored:
    """What an adapter reads of a stored event (``integrations.events.StoredEvent``)."""

    body: str
    idempotency_key: str
    envelope: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, prepared: PreparedEvent) -> Stored:
        return cls(prepared.body, prepared.idempotency_key, dict(prepared.envelope))

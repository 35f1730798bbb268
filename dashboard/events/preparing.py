"""Turning what a user typed into the exact event a provider will receive.

The provider's events adapter (``integrations/<key>/events.py``) validates the event,
fills what the provider needs and the user left out, and encodes the body once. What
comes back is stored as is, so a retry sends the same bytes. This module only finds
the adapter and turns its refusals into :class:`EventRefused` for the pages.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from dashboard.core.nesting import nesting_refusal, value_nesting_refusal
from integrations.errors import PayloadError
from integrations.events import EventsAdapter, InvalidEvent, PreparedEvent
from integrations.provider import Capability
from integrations.registry import UnknownProvider, get_provider, providers_with

__all__ = ["EventRefused", "PreparedEvent", "adapter_for", "event_providers", "prepare"]


class EventRefused(ValueError):
    """The event cannot be queued; ``errors`` lists why (``path: message``)."""

    def __init__(self, errors: list[str]):
        super().__init__("; ".join(errors))
        self.errors = errors


def event_providers() -> list:
    """The providers that take events, in the registry's order."""
    return [p for p in providers_with(Capability.TRACK) if p.events is not None]


def adapter_for(provider: str) -> EventsAdapter | None:
    """The events adapter of ``provider``; ``None`` when it takes no events."""
    try:
        return get_provider(provider).events
    except UnknownProvider:
        return None


def templates_for(provider: str) -> dict[str, Any]:
    adapter = adapter_for(provider)
    return dict(adapter.templates) if adapter else {}


def event_types_for(provider: str) -> list[str]:
    adapter = adapter_for(provider)
    return adapter.event_types() if adapter else []


def parse_json(text: str) -> Any:
    """The JSON value in ``text``; :class:`EventRefused` saying where it breaks, or
    how deep it nests when that is past what decoding can take (#15 finding 8)."""
    too_deep = nesting_refusal(text, subject="The payload is")
    if too_deep:
        raise EventRefused([too_deep])
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise EventRefused(
            [f"payload: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"]
        ) from None


def prepare(
    provider: str,
    payload: Any,
    *,
    event_type: str = "",
    options: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> PreparedEvent:
    """The event ready to queue; raises :class:`EventRefused`."""
    now = now or datetime.now(UTC)
    if isinstance(payload, str):
        payload = parse_json(payload)
    elif too_deep := value_nesting_refusal(payload, subject="The payload is"):
        # A decoded value handed in by code (a command, a replay) gets the same limit.
        raise EventRefused([too_deep])
    if not isinstance(payload, dict):
        raise EventRefused(["payload: must be a JSON object"])
    adapter = adapter_for(provider)
    if adapter is None:
        raise EventRefused([f"provider: {provider} does not take events"])
    try:
        return adapter.prepare(payload, event_type=event_type.strip(), options=options, now=now)
    except InvalidEvent as exc:
        raise EventRefused(exc.errors) from None
    except PayloadError as exc:
        raise EventRefused([str(exc)]) from None

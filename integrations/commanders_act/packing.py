"""Packing Commanders Act events into requests (providers/commanders-act.md: Batch).

Sizes as in :mod:`integrations.commanders_act.payloads`: the compact UTF-8 JSON
actually sent, 500,000 bytes a batch body and 32,000 an event. A source outside the
closed batch beta gets one event per request (:func:`pack_encoded_requests`).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import Any, TypeVar

from integrations.commanders_act.payloads import (
    BATCH_LIMIT_BYTES,
    BATCH_OVERHEAD_BYTES,
    EVENT_LIMIT_BYTES,
    PayloadError,
    encoded_size,
)

K = TypeVar("K", bound=Hashable)
OversizeCallback = Callable[[Any, dict[str, Any], int], None]


def pack_keyed_batches(
    items: Iterable[tuple[K, dict[str, Any]]],
    *,
    on_oversize: OversizeCallback | None = None,
    limit: int = BATCH_LIMIT_BYTES,
    event_limit: int = EVENT_LIMIT_BYTES,
) -> Iterator[list[tuple[K, dict[str, Any]]]]:
    """Group ``(key, event)`` pairs, in order, into batches whose body fits ``limit``.

    Greedy: a batch is sent as soon as the next event would not fit. Each event is
    encoded once (O(n) overall). An event over ``event_limit`` is handed to
    ``on_oversize(key, event, size)`` and left out, so a dispatcher can fail just
    that one; without a callback it raises :class:`PayloadError` naming the key.
    """
    batch: list[tuple[K, dict[str, Any]]] = []
    size = BATCH_OVERHEAD_BYTES
    for key, event in items:
        event_size = encoded_size(event)
        if event_size > event_limit or event_size + BATCH_OVERHEAD_BYTES > limit:
            if on_oversize is None:
                raise PayloadError(
                    _describe(key, event),
                    f"is {event_size:,} bytes as JSON; the limit per event is {event_limit:,}",
                )
            on_oversize(key, event, event_size)
            continue
        added = event_size + (1 if batch else 0)  # the comma between events
        if batch and size + added > limit:
            yield batch
            batch, size, added = [], BATCH_OVERHEAD_BYTES, event_size
        batch.append((key, event))
        size += added
    if batch:
        yield batch


def pack_batches(
    events: Iterable[dict[str, Any]],
    *,
    on_oversize: OversizeCallback | None = None,
    limit: int = BATCH_LIMIT_BYTES,
    event_limit: int = EVENT_LIMIT_BYTES,
) -> Iterator[list[dict[str, Any]]]:
    """Like :func:`pack_keyed_batches` for plain events; keys are their indexes."""
    for batch in pack_keyed_batches(
        enumerate(events), on_oversize=on_oversize, limit=limit, event_limit=event_limit
    ):
        yield [event for _, event in batch]


def pack_encoded_batches(
    items: Iterable[tuple[K, bytes]],
    *,
    limit: int = BATCH_LIMIT_BYTES,
    event_limit: int = EVENT_LIMIT_BYTES,
) -> Iterator[list[tuple[K, bytes]]]:
    """Like :func:`pack_keyed_batches` for events already encoded (no re-encoding):
    ``(key, body bytes)`` pairs grouped so each ``{"batch":[...]}`` fits ``limit``.
    A body over ``event_limit`` raises :class:`PayloadError` (refuse it before queueing).
    """
    batch: list[tuple[K, bytes]] = []
    size = BATCH_OVERHEAD_BYTES
    for key, body in items:
        event_size = len(body)
        if event_size > event_limit or event_size + BATCH_OVERHEAD_BYTES > limit:
            raise PayloadError(
                f"event {key!r}", f"is {event_size:,} bytes; the limit per event is {event_limit:,}"
            )
        added = event_size + (1 if batch else 0)  # the comma between events
        if batch and size + added > limit:
            yield batch
            batch, size, added = [], BATCH_OVERHEAD_BYTES, event_size
        batch.append((key, body))
        size += added
    if batch:
        yield batch


def pack_encoded_requests(
    items: Iterable[tuple[K, bytes]],
    *,
    batching: bool,
    limit: int = BATCH_LIMIT_BYTES,
    event_limit: int = EVENT_LIMIT_BYTES,
) -> Iterator[list[tuple[K, bytes]]]:
    """The requests a dispatcher sends for ``items``: packed batches when the source is
    in the batch beta, otherwise one event per request.

    providers/commanders-act.md: Batch — the batch endpoint is a closed beta, so a
    source not in it gets every event as its own ``POST /events``. A body over
    ``event_limit`` raises :class:`PayloadError` either way.
    """
    if batching:
        yield from pack_encoded_batches(items, limit=limit, event_limit=event_limit)
        return
    for key, body in items:
        if len(body) > event_limit:
            raise PayloadError(
                f"event {key!r}", f"is {len(body):,} bytes; the limit per event is {event_limit:,}"
            )
        yield [(key, body)]


def _describe(key: Any, event: Any) -> str:
    label = f"events[{key}]" if isinstance(key, int) else f"event {key!r}"
    context = event.get("context") if isinstance(event, dict) else None
    if isinstance(context, dict) and context.get("event_id"):
        label += f" (event_id {context['event_id']})"
    return label

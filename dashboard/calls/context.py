"""Who a provider call is made for: the correlation id of one user action and the
domain row it serves. Set around work in views and tasks; read by the recorder.

Also which exchanges a block of work made (:func:`exchanges_seen`): the recorder
notes each exchange id as it is handed over, so a caller can store the id of the
call that carried its work. The call's row itself is written a moment later by the
background writer and must not be read back here."""

from __future__ import annotations

import contextlib
import contextvars
import uuid
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class CallContext:
    correlation_id: str = ""
    subject_type: str = ""
    subject_id: str = ""


_EMPTY = CallContext()
_seen: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "switchyard_exchanges_seen", default=None
)
_current: contextvars.ContextVar[CallContext | None] = contextvars.ContextVar(
    "switchyard_call_context", default=None
)


def current() -> CallContext:
    return _current.get() or _EMPTY


def new_correlation_id() -> str:
    return uuid.uuid4().hex


@contextlib.contextmanager
def call_context(
    *, correlation_id: str = "", subject_type: str = "", subject_id: object = ""
) -> Iterator[CallContext]:
    """Calls made inside this block are recorded with these ids."""
    parent = current()
    ctx = CallContext(
        correlation_id=correlation_id or parent.correlation_id or new_correlation_id(),
        subject_type=subject_type or parent.subject_type,
        subject_id=str(subject_id or parent.subject_id),
    )
    token = _current.set(ctx)
    try:
        yield ctx
    finally:
        _current.reset(token)


@contextlib.contextmanager
def exchanges_seen() -> Iterator[list[str]]:
    """The ids of the exchanges recorded inside this block, in the order they ended."""
    seen: list[str] = []
    token = _seen.set(seen)
    try:
        yield seen
    finally:
        _seen.reset(token)


def note_exchange(exchange_id: str) -> None:
    seen = _seen.get()
    if seen is not None:
        seen.append(exchange_id)

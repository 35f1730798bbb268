"""Who a provider call is made for: the correlation id of one user action and the
domain row it serves. Set around work in views and tasks; read by the recorder."""

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

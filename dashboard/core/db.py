"""Database helpers every app shares."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from django.db import OperationalError

T = TypeVar("T")


def retry_on_locked(operation: Callable[[], T], *, attempts: int = 6) -> T:
    """Run a single-statement write, waiting a moment when SQLite refuses it.

    SQLite (the embedded default, and the shared-cache test database) can answer
    "table is locked" while another worker thread writes; waiting is all it needs.
    PostgreSQL never raises here for these statements. The last refusal is raised.
    """
    for attempt in range(attempts - 1):
        try:
            return operation()
        except OperationalError:
            time.sleep(0.02 * 2**attempt)
    return operation()

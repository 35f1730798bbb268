"""Reading query-string values that users (and bookmarks) can garble."""

from __future__ import annotations

# Primary keys are BigAutoField: anything larger cannot name a row.
MAX_ID = 2**63 - 1


def parse_id(value: str) -> int | None:
    """A positive row id from ``value``, or None for anything else ("²", "1e9", huge,
    "007": a leading zero would make two spellings of one id, e.g. in cache keys)."""
    if not value or not value.isascii() or not value.isdigit() or len(value) > 19:
        return None
    if value[0] == "0":
        return None
    number = int(value)
    return number if 0 < number <= MAX_ID else None


def text_param(value: str | None, limit: int) -> str:
    """Free text from a query string, trimmed to ``limit``: without NUL characters, which
    PostgreSQL refuses in text (a filter carrying one would otherwise be a 500)."""
    return (value or "").replace("\x00", "")[:limit].strip()

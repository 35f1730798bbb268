"""Keyset pagination cursors: an opaque, URL-safe token for a (sort value, id)
position, so pages are read with an index range instead of an OFFSET."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime


def encode_keyset(value, pk: int) -> str:
    """A cursor for a (value, id) position; datetimes travel as ISO text."""
    raw = value.isoformat() if isinstance(value, datetime) else value
    return base64.urlsafe_b64encode(json.dumps([raw, pk]).encode()).decode().rstrip("=")


def decode_keyset(cursor: str, kind: type) -> tuple | None:
    """The (value, id) a cursor names, ``value`` read as ``kind``; None when garbled."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value, pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
        value = datetime.fromisoformat(value) if kind is datetime else int(value)
        pk = int(pk)
    except (ValueError, TypeError, OverflowError, binascii.Error, UnicodeDecodeError):
        return None
    if kind is datetime and value.tzinfo is None:
        return None
    if kind is int and not -(2**63) < value < 2**63:
        return None
    if not 0 < pk < 2**63:
        return None
    return value, pk

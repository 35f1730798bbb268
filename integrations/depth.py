"""Nesting limits for what providers send and what staff type.

Python's ``json`` and any recursive walk over a decoded value raise ``RecursionError``
somewhere past a thousand levels, which is not an error anybody handles: a provider
answering with 5,000 nested arrays left checks ``running`` forever. Nothing a
provider or a person legitimately sends is nested more than a few levels, so the
console refuses anything deeper than :data:`MAX_DEPTH` with a sentence, *before*
decoding or walking it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

MAX_DEPTH = 64


class TooDeep(ValueError):
    """A value nested deeper than the console accepts."""

    def __init__(self, limit: int):
        super().__init__(f"is nested more than {limit} levels deep, which the console refuses")
        self.limit = limit


def json_text_depth(data: bytes | str) -> int:
    """How deep the arrays and objects of a JSON text go, without decoding it.

    A linear scan that skips string contents (and their escapes), so it cannot recurse
    and costs one pass over the bytes."""
    text = data if isinstance(data, bytes) else data.encode("utf-8", errors="replace")
    depth = deepest = 0
    in_string = escaped = False
    for byte in text:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


def loads(data: bytes | str, *, limit: int = MAX_DEPTH) -> Any:
    """``json.loads`` that raises :class:`TooDeep` (a ``ValueError``) past ``limit``."""
    if json_text_depth(data) > limit:
        raise TooDeep(limit)
    return json.loads(data)


def value_depth(value: Any) -> int:
    """How deep a decoded value (dicts and lists) goes, walked without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        current, level = stack.pop()
        if isinstance(current, dict):
            children: Iterable[Any] = current.values()
        elif isinstance(current, list | tuple):
            children = current
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


def check_value(value: Any, *, limit: int = MAX_DEPTH) -> Any:
    """``value`` unchanged, or :class:`TooDeep` when it is nested past ``limit``."""
    if value_depth(value) > limit:
        raise TooDeep(limit)
    return value

"""How deep the JSON staff type may nest (#15 finding 8, the form side).

Python's ``json`` raises ``RecursionError`` somewhere past a thousand levels, and any
recursive walk over a decoded value (the providers' own checks) fails far earlier:
the composer's payload, preview attributes and profile values were 500s at a few
hundred levels. Nothing a person legitimately types nests more than a few levels, so
typed JSON deeper than :data:`TYPED_MAX_DEPTH` is refused with a sentence, measured
on the text *before* anything decodes it (a linear scan that cannot recurse).
"""

from __future__ import annotations

from typing import Any

from integrations.depth import json_text_depth, value_depth

# Far above any real payload (Croct attributes allow 5 levels), far below the depth at
# which decoding or walking a value can run out of stack.
TYPED_MAX_DEPTH = 32


def nesting_refusal(text: str, *, subject: str, limit: int = TYPED_MAX_DEPTH) -> str:
    """The sentence refusing ``text`` when its arrays and objects nest deeper than
    ``limit``, else "". ``subject`` starts the sentence, verb included: "The payload
    is" gives "The payload is nested 950 levels deep; the limit is 32."."""
    return depth_refusal(json_text_depth(text or ""), subject=subject, limit=limit)


def value_nesting_refusal(value: Any, *, subject: str, limit: int = TYPED_MAX_DEPTH) -> str:
    """The same sentence for an already decoded value (walked without recursion)."""
    return depth_refusal(value_depth(value), subject=subject, limit=limit)


def depth_refusal(depth: int, *, subject: str, limit: int = TYPED_MAX_DEPTH) -> str:
    """The sentence for input ``depth`` levels deep, or "" within ``limit``."""
    if depth <= limit:
        return ""
    return f"{subject} nested {depth:,} levels deep; the limit is {limit}."

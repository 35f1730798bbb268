"""What the pages do with normalized profiles: the merged fields, and masking.

Each provider's profiles adapter turns its profiles into one shape (see
``integrations/profiles.py``), so cards, the merged table and the cache agree; masking
hides contact details (emails, phones) for staff without ``see_contact_details``.
"""

from __future__ import annotations

import re
from typing import Any

# The fields the merged table compares across providers, in display order.
MERGED_FIELDS = ("name", "email", "phone", "customer_id", "status")
CONTACT_KEYS = frozenset({"email", "phone", "phones", "mobile"})


def mask_email(value: str) -> str:
    local, sep, domain = str(value).partition("@")
    if not sep:
        return mask_text(value)
    return f"{local[:1]}•••@{domain}"


def mask_text(value: str) -> str:
    text = str(value)
    if len(text) <= 4:
        return "•" * len(text)
    return text[:3] + "•" * (len(text) - 5) + text[-2:]


_EMAILISH = re.compile(r"[^@\s]+@[^@\s]+")


def mask_value(key: str, value: Any) -> Any:
    """``value`` with contact details hidden when ``key`` names one (or holds an email)."""
    leaf = key.rsplit(".", 1)[-1].lower()
    if isinstance(value, list):
        return [mask_value(key, v) for v in value]
    if isinstance(value, dict):
        return {k: mask_value(k, v) for k, v in value.items()}
    if value in (None, "") or isinstance(value, bool):
        return value
    if leaf in CONTACT_KEYS or "email" in leaf or "phone" in leaf:
        return mask_email(value) if "@" in str(value) else mask_text(value)
    if isinstance(value, str) and _EMAILISH.fullmatch(value):
        return mask_email(value)
    return value


def masked(profile: dict[str, Any]) -> dict[str, Any]:
    """A copy of a normalized profile with emails and phones masked."""
    out = dict(profile)
    for key in ("email", "phone"):
        out[key] = mask_value(key, profile.get(key))
    out["attributes"] = {k: mask_value(k, v) for k, v in profile.get("attributes", {}).items()}
    return out


def mask_query(kind: str, value: str) -> str:
    if kind == "email":
        return mask_email(value)
    if kind == "phone":
        return mask_text(value)
    return value

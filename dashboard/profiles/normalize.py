"""What the pages do with normalized profiles: the merged fields, and masking.

Each provider's profiles adapter turns its profiles into one shape (see
``integrations/profiles.py``), so cards, the merged table and the cache agree; masking
hides contact details (emails, phones) for staff without ``see_contact_details``.
"""

from __future__ import annotations

from typing import Any

# One masking rule for every page (core.masking); re-exported for the profiles pages.
from dashboard.core.masking import mask_email, mask_text, mask_value

# The fields the merged table compares across providers, in display order.
MERGED_FIELDS = ("name", "email", "phone", "customer_id", "status")


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

"""Provider profiles in one shape, so cards, the merged table and the cache agree.

A normalized profile is a JSON-ready dict::

    {"profile_id", "customer_id", "name", "email", "phone", "status",
     "segments": [...], "attributes": {...}}

and masking hides contact details (emails, phones) for staff without
``see_contact_details``.
"""

from __future__ import annotations

import json
import re
from typing import Any

# The fields the merged table compares across providers, in display order.
MERGED_FIELDS = ("name", "email", "phone", "customer_id", "status")
CONTACT_KEYS = frozenset({"email", "phone", "phones", "mobile"})


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def from_octy(profile) -> dict[str, Any]:
    data = profile.profile_data
    attributes = {
        **{f"profile_data.{k}": v for k, v in data.items()},
        **{f"platform_info.{k}": v for k, v in profile.platform_info.items()},
        "has_charged": profile.has_charged,
        "rfm_score": profile.rfm_score,
        "churn_prob": profile.churn_prob,
        "created_at": profile.created_at,
    }
    # Already JSON: Octy's answer was parsed from it (no round trip needed).
    return {
        "profile_id": profile.profile_id,
        "customer_id": profile.customer_id,
        "name": str(data.get("name") or ""),
        "email": str(data.get("email") or "").lower(),
        "phone": str(data.get("phone") or ""),
        "status": profile.status,
        "segments": list(profile.segments),
        "attributes": attributes,
    }


def from_altcraft(profile) -> dict[str, Any]:
    fields = profile.fields
    name = " ".join(str(fields[k]) for k in ("_fname", "_lname") if fields.get(k))
    status = fields.get("_status")
    subscriptions = fields.get("subscriptions") or []
    tags = fields.get("tags") or fields.get("_tags") or []
    return _jsonable(
        {
            "profile_id": profile.profile_id,
            "customer_id": str(fields.get("customer_id") or ""),
            "name": name,
            "email": profile.email.lower(),
            "phone": profile.phones[0] if profile.phones else "",
            "status": "" if status is None else str(status),
            "segments": [str(t) for t in tags] if isinstance(tags, list) else [str(tags)],
            "subscriptions": subscriptions if isinstance(subscriptions, list) else [],
            "attributes": dict(fields),
        }
    )


def from_croct(user: dict[str, Any]) -> dict[str, Any]:
    name = " ".join(str(user[k]) for k in ("firstName", "lastName") if user.get(k))
    attributes = {k: v for k, v in user.items() if k != "customAttributes"}
    for key, value in (user.get("customAttributes") or {}).items():
        attributes[f"customAttributes.{key}"] = value
    return _jsonable(
        {
            "profile_id": str(user.get("userId") or ""),
            # externalUserId is the id the website gave Croct, not a shared customer id
            # (it stays in the attributes): linking Octy by it would find nobody.
            "customer_id": "",
            "name": name,
            "email": str(user.get("email") or "").lower(),
            "phone": str(user.get("phone") or ""),
            "status": "",
            "segments": [],
            "attributes": attributes,
        }
    )


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

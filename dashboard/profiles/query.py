"""Recognising what a search-box query is, and which provider can look it up how."""

from __future__ import annotations

import re
from dataclasses import dataclass

from dashboard.profiles.models import QueryKind

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
PHONE_RE = re.compile(r"^\+?[0-9][0-9 ().-]{5,20}$")
ALTCRAFT_ID_RE = re.compile(r"^[0-9a-fA-F]{24}$")
OCTY_PROFILE_RE = re.compile(r"^profile_[0-9a-zA-Z]+$")
CROCT_USER_RE = re.compile(r"^user-[0-9A-Za-z-]+$")
# providers/octy.md: customer_id 1–60 chars without , " ' .
OCTY_CUSTOMER_RE = re.compile(r"^[^,\"'.\s]{1,60}$")


class UnrecognisedQuery(ValueError):
    pass


@dataclass(frozen=True)
class Query:
    kind: str
    value: str

    @property
    def label(self) -> str:
        return QueryKind(self.kind).label


def recognise(text: str) -> Query:
    """The kind of ``text`` and its normalized value; raises UnrecognisedQuery.

    Order matters: an email before anything else, then a phone (``+`` or 7+ digits),
    Altcraft's 24-hex ids, Octy's ``profile_…`` ids, Croct's ``user-…`` ids, and
    finally anything else that is a valid Octy customer id.
    """
    value = (text or "").strip()
    if not value:
        raise UnrecognisedQuery("Type an email, a phone number or a profile, customer or user id.")
    if len(value) > 254:
        raise UnrecognisedQuery("That is too long to be an email or an id.")
    if "@" in value:
        if not EMAIL_RE.match(value):
            raise UnrecognisedQuery(f"{value!r} looks like an email address but is not one.")
        return Query(QueryKind.EMAIL, value.lower())
    if ALTCRAFT_ID_RE.match(value):
        return Query(QueryKind.ALTCRAFT_ID, value.lower())
    if PHONE_RE.match(value) and (value.startswith("+") or value.isdigit()):
        digits = re.sub(r"\D", "", value)
        if 6 <= len(digits) <= 15:
            return Query(QueryKind.PHONE, "+" + digits)
    if OCTY_PROFILE_RE.match(value):
        return Query(QueryKind.OCTY_ID, value)
    if CROCT_USER_RE.match(value):
        return Query(QueryKind.CROCT_USER, value)
    if OCTY_CUSTOMER_RE.match(value):
        return Query(QueryKind.OCTY_ID, value)
    raise UnrecognisedQuery(
        f"{value!r} is not an email, a phone number, or a profile, customer or user id."
    )


# How each provider handles each kind: "direct" (it can search it), "link" (it waits
# for another provider's answer to hand it a key it can search), or a reason to skip.
DIRECT = "direct"
LINK = "link"

PLANS: dict[str, dict[str, str]] = {
    "octy": {
        QueryKind.OCTY_ID: DIRECT,
        # providers/octy.md: GET profiles takes only ?ids= (profile or customer ids):
        # an email or phone is found through the local cache or a linked customer_id.
        QueryKind.EMAIL: DIRECT,
        QueryKind.PHONE: DIRECT,
        QueryKind.ALTCRAFT_ID: LINK,
        QueryKind.CROCT_USER: LINK,
    },
    "altcraft": {
        QueryKind.EMAIL: DIRECT,
        QueryKind.PHONE: DIRECT,
        QueryKind.ALTCRAFT_ID: DIRECT,
        QueryKind.OCTY_ID: DIRECT,
        QueryKind.CROCT_USER: LINK,
    },
    "croct": {
        QueryKind.CROCT_USER: DIRECT,
    },
}
SKIP_REASONS = {
    "croct": "Croct exports users by Croct user id only (user-…).",
}
# Linked keys each provider can search with, best first.
LINK_KEYS: dict[str, tuple[str, ...]] = {
    "octy": ("customer_id",),
    "altcraft": ("email", "customer_id"),
    "croct": (),
}


def plan_for(provider: str, kind: str) -> str:
    """``DIRECT``, ``LINK`` or the reason the provider cannot look this kind up."""
    plan = PLANS.get(provider, {}).get(kind)
    if plan:
        return plan
    return SKIP_REASONS.get(provider, "This provider cannot look up that kind of query.")

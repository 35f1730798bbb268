"""Recognising what a search-box query is, and which provider can look it up how.

Emails and phone numbers are every provider's; the ids a provider issues come from its
profiles adapter (``IdRule``), so a new provider's ids are recognised without a change
here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from integrations import profiles as adapters
from integrations.provider import Capability
from integrations.registry import get_provider, providers_with

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
PHONE_RE = re.compile(r"^\+?[0-9][0-9 ().-]{5,20}$")

DIRECT = adapters.DIRECT
LINK = adapters.LINK


class UnrecognisedQuery(ValueError):
    pass


@cache
def id_rules() -> tuple[adapters.IdRule, ...]:
    """Every profile provider's id rules, in the order they are tried.

    Cached: the registry is fixed at start-up (a test that registers a provider calls
    ``id_rules.cache_clear()``)."""
    rules = [
        rule
        for provider in profile_providers(Capability.PROFILE_LOOKUP)
        for rule in provider.profiles.id_rules
    ]
    return tuple(sorted(rules, key=lambda r: r.rank))


def query_kind_choices() -> list[tuple[str, str]]:
    """``(kind, label)`` of every query kind: email, phone and each provider's ids."""
    choices = {adapters.EMAIL: "Email", adapters.PHONE: "Phone"}
    for rule in id_rules():
        choices.setdefault(rule.kind, rule.label)
    return list(choices.items())


def search_hint() -> str:
    """What the search box takes, for its help text."""
    hints = list(dict.fromkeys(rule.hint for rule in id_rules()))
    parts = ["An email", "a phone (+…)", *hints]
    return ", ".join(parts[:-1]) + " or " + parts[-1] + "."


def customer_id_kinds() -> frozenset[str]:
    """Query kinds whose values may be a shared customer id."""
    return frozenset(rule.kind for rule in id_rules() if rule.customer_id)


@dataclass(frozen=True)
class Query:
    kind: str
    value: str

    @property
    def label(self) -> str:
        return dict(query_kind_choices()).get(self.kind, self.kind)


def _phone(value: str) -> Query | None:
    if PHONE_RE.match(value) and (value.startswith("+") or value.isdigit()):
        digits = re.sub(r"\D", "", value)
        if 6 <= len(digits) <= 15:
            return Query(adapters.PHONE, "+" + digits)
    return None


def recognise(text: str) -> Query:
    """The kind of ``text`` and its normalized value; raises UnrecognisedQuery.

    Order matters: an email before anything else, then the providers' id rules and a
    phone (``+`` or 7+ digits) by rank, the catch-all id rules last.
    """
    value = (text or "").strip()
    if not value:
        raise UnrecognisedQuery("Type an email, a phone number or a profile, customer or user id.")
    if len(value) > 254:
        raise UnrecognisedQuery("That is too long to be an email or an id.")
    if "@" in value:
        if not EMAIL_RE.match(value):
            raise UnrecognisedQuery(f"{value!r} looks like an email address but is not one.")
        return Query(adapters.EMAIL, value.lower())
    phone_tried = False
    for rule in id_rules():
        if rule.rank >= adapters.PHONE_RANK and not phone_tried:
            phone_tried = True
            if (phone := _phone(value)) is not None:
                return phone
        if rule.pattern.match(value):
            return Query(rule.kind, value.lower() if rule.lowercase else value)
    if not phone_tried and (phone := _phone(value)) is not None:
        return phone
    raise UnrecognisedQuery(
        f"{value!r} is not an email, a phone number, or a profile, customer or user id."
    )


def adapter_for(account) -> adapters.ProfilesAdapter | None:
    """The profiles adapter of ``account``'s provider (None when it holds no profiles)."""
    return account.provider_class.profiles


def profile_providers(capability: Capability) -> list:
    """Providers with ``capability`` and a profiles adapter to do it with."""
    return [p for p in providers_with(capability) if p.profiles is not None]


def plan_for(provider: str, kind: str) -> str:
    """``DIRECT``, ``LINK`` or the reason the provider cannot look this kind up."""
    adapter = get_provider(provider).profiles
    if adapter is None:
        return "This provider cannot look up that kind of query."
    return adapter.plan_for(kind, customer_id=kind in customer_id_kinds())

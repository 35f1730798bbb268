"""The Altcraft profiles adapter (providers/altcraft.md: profile methods).

Altcraft finds one profile per ``get`` with the right ``matching``; an email or phone
held by several profiles is its 435 (AmbiguousMatch), which the console explains.
"""

from __future__ import annotations

import re
from typing import Any

from integrations import profiles as base
from integrations.altcraft.payloads import PayloadError, clean_data

ALTCRAFT_ID = "altcraft_id"
ALTCRAFT_ID_RE = re.compile(r"^[0-9a-fA-F]{24}$")
# providers/altcraft.md: list — a person reads a page of this size.
BROWSE_PAGE_SIZE = 50


class AltcraftProfiles(base.ProfilesAdapter):
    id_rules = (
        # Before phone numbers: 24 digits are an Altcraft id, not a phone.
        base.IdRule(
            ALTCRAFT_ID,
            "Altcraft profile id",
            ALTCRAFT_ID_RE,
            rank=10,
            hint="an Altcraft profile id (24 hex)",
            lowercase=True,
        ),
    )
    direct_kinds = frozenset({base.EMAIL, base.PHONE, ALTCRAFT_ID})
    # A shared customer id is matched on the custom field customer_id.
    searches_customer_ids = True
    link_keys = (base.EMAIL, base.CUSTOMER_ID)

    def look_up(self, client, kind: str, value: str, *, cached_ids) -> base.Found:
        # providers/altcraft.md: profile methods — get with the right `matching`.
        if kind == base.EMAIL:
            profile = client.get_profile("email", value)
        elif kind == base.PHONE:
            profile = client.get_profile("phone", value)
        elif kind == ALTCRAFT_ID:
            profile = client.get_profile("profile_id", value)
        else:
            profile = client.get_profile("custom", value, field_name="customer_id")
            kind = base.CUSTOMER_ID
        return base.Found([self.normalize(profile)], f"{kind} {value}")

    def fetch(self, client, profile_id: str) -> dict[str, Any] | None:
        return self.normalize(client.get_profile("profile_id", profile_id))

    def advice_when_ambiguous(self, kind: str) -> list[str]:
        # providers/altcraft.md: errors — 435, several profiles match.
        return [
            "search by the Altcraft profile id (24 hex characters) instead;",
            "search by email rather than phone"
            + (" (or by phone)" if kind == base.EMAIL else "")
            + ";",
            "set the account's resource id so matching is scoped to one resource;",
            "match on a unique custom field such as customer_id (search cust-…).",
        ]

    def normalize(self, profile) -> dict[str, Any]:
        fields = profile.fields
        name = " ".join(str(fields[k]) for k in ("_fname", "_lname") if fields.get(k))
        status = fields.get("_status")
        subscriptions = fields.get("subscriptions") or []
        tags = fields.get("tags") or fields.get("_tags") or []
        return base.jsonable(
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

    def browse_page(self, client, cursor: str, filters) -> base.ProfilePage:
        return self.sync_page(client, cursor, filters, page_size=BROWSE_PAGE_SIZE)

    def sync_page(self, client, cursor: str, filters, *, page_size: int) -> base.ProfilePage:
        # providers/altcraft.md: list — from_id is the last id of the previous page.
        page = client.list_profiles(cursor or None, limit=page_size)
        return base.ProfilePage([self.normalize(p) for p in page.profiles], page.next_from_id)

    def set_attribute(self, client, profile_id: str, name: str, value: Any) -> base.AttributeWrite:
        try:
            data = clean_data({name: value}, required=True)
            result = client.update_profile("profile_id", profile_id, data)
        except PayloadError as exc:
            raise base.Refused(exc.field, str(exc)) from None
        # providers/altcraft.md: request_id — a repeat is answered, not applied again.
        # Every edit goes with a fresh request id, so only a real repeat (a retry of the
        # same request) comes back duplicate: that one was not saved, and says so.
        return base.AttributeWrite(
            ok=result.applied, duplicate=result.duplicate, duplicate_key=result.duplicate_key or ""
        )

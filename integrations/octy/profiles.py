"""The Octy profiles adapter (providers/octy.md: endpoints, pagination).

Octy finds profiles only by profile or customer id (``GET profiles?ids=``): an email
or phone is answered through the console's local cache of synced profiles, or waits
for another provider to hand it the customer's ``customer_id``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from integrations import profiles as base
from integrations.octy import payloads
from integrations.provider import Field

# The one query kind Octy ids are stored as (look-ups already hold it: never rename).
OCTY_ID = "octy_id"
OCTY_PROFILE_RE = re.compile(r"^profile_[0-9a-zA-Z]+$")
# providers/octy.md: customer_id 1–60 chars without , " ' .
OCTY_CUSTOMER_RE = re.compile(r"^[^,\"'.\s]{1,60}$")
_RFM_FORM_RE = re.compile(r"^\d+-\d+$")


def _rfm_shape(value: str) -> str:
    if not _RFM_FORM_RE.match(value):
        raise ValueError("Enter a valid value.")
    return value


class OctyProfiles(base.ProfilesAdapter):
    id_rules = (
        base.IdRule(
            OCTY_ID,
            "Octy profile or customer id",
            OCTY_PROFILE_RE,
            rank=60,
            hint="an Octy profile or customer id",
            customer_id=True,
        ),
        # Anything else that is a valid customer id: tried last of all.
        base.IdRule(
            OCTY_ID,
            "Octy profile or customer id",
            OCTY_CUSTOMER_RE,
            rank=1000,
            hint="an Octy profile or customer id",
            customer_id=True,
        ),
    )
    direct_kinds = frozenset({OCTY_ID, base.EMAIL, base.PHONE})
    cache_searched_kinds = frozenset({base.EMAIL, base.PHONE})
    link_keys = (base.CUSTOMER_ID,)
    filter_fields: ClassVar[tuple[Field, ...]] = (
        Field("rfm", "RFM range", help_text="e.g. 300-555", required=False, clean=_rfm_shape),
        Field("churn_prob", "Churn probability", required=False, choices=payloads.CHURN_LABELS),
        Field(
            "segments",
            "Segments",
            help_text="Comma-separated segment ids or names",
            required=False,
        ),
    )
    # providers/octy.md: pagination — a listing starts at cursor "0".
    sync_start_cursor = "0"

    def look_up(self, client, kind: str, value: str, *, cached_ids) -> base.Found:
        if kind in (OCTY_ID, base.CUSTOMER_ID):
            # providers/octy.md: endpoints — GET profiles?ids=
            found = client.get_profiles([value])
            return base.Found([self.normalize(p) for p in found], f"{kind} {value}")
        ids = cached_ids(kind, value)
        if not ids:
            return base.Found(
                [], f"{kind} (not in the local cache: sync this account, or search by id)"
            )
        found = client.get_profiles(ids[:100])
        return base.Found([self.normalize(p) for p in found], f"{kind} via the local cache")

    def fetch(self, client, profile_id: str) -> dict[str, Any] | None:
        found = [self.normalize(p) for p in client.get_profiles([profile_id])]
        return found[0] if found else None

    def normalize(self, profile) -> dict[str, Any]:
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

    def clean_filters(self, filters: Mapping[str, Any]) -> dict[str, Any]:
        """providers/octy.md: rfm, churn_prob, segments (a list, or comma-separated)."""
        clean = {k: v for k, v in (filters or {}).items() if v not in (None, "", [], ())}
        if not clean:
            return {}
        segments = clean.get("segments") or []
        if isinstance(segments, str):
            segments = [s.strip() for s in segments.split(",") if s.strip()]
        try:
            payloads.profile_filters(clean.get("rfm"), clean.get("churn_prob"), segments)
        except payloads.PayloadError as exc:
            raise base.Refused(exc.field, str(exc)) from None
        out: dict[str, Any] = {}
        if clean.get("rfm"):
            out["rfm"] = clean["rfm"]
        if clean.get("churn_prob"):
            out["churn_prob"] = clean["churn_prob"]
        if segments:
            out["segments"] = segments
        return out

    def browse_page(self, client, cursor: str, filters: Mapping[str, Any]) -> base.ProfilePage:
        # providers/octy.md: pagination — header cursor; the exhausted 400 is the end.
        page = client.profiles_page(cursor or "0", **filters)
        return base.ProfilePage([self.normalize(p) for p in page.profiles], page.next_cursor)

    def sync_page(self, client, cursor: str, filters, *, page_size: int) -> base.ProfilePage:
        # Octy chooses its page size; the cursor header moves by what it sent.
        return self.browse_page(client, cursor, filters)

    def set_attribute(self, client, profile_id: str, name: str, value: Any) -> base.AttributeWrite:
        key = name.removeprefix("profile_data.")
        if not key:
            raise base.Refused("name", "is required")
        current = client.get_profiles([profile_id])
        if not current:
            raise base.Refused("profile", "Octy no longer has this profile")
        # profiles/update replaces profile_data as a whole: send it back with the change.
        data = {**current[0].profile_data, key: value}
        problem = payloads.attributes_problem(data)
        if problem is not None:
            raise base.Refused("value", f"{problem[0] or key}: {problem[1]}")
        try:
            result = client.update_profiles([payloads.ProfileUpdate(profile_id, profile_data=data)])
        except payloads.PayloadError as exc:
            raise base.Refused(exc.field, str(exc)) from None
        # providers/octy.md: partial failures — a 200 may still refuse the object.
        failed = [
            {"identifier": f.identifier, "error_message": f.error_message} for f in result.failed
        ]
        return base.AttributeWrite(ok=not failed, failed=failed)

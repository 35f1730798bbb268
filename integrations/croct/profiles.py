"""The Croct profiles adapter (providers/croct.md: export).

Croct exports one user by Croct user id (``/export/user/{id}``, 404 when unknown) and
exports events, sessions or users of a time window, paged by ``nextCursor``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from integrations import profiles as base
from integrations.croct.payloads import TRACK_EVENT_TYPES

CROCT_USER = "croct_user"
CROCT_USER_RE = re.compile(r"^user-[0-9A-Za-z-]+$")
# When an exported item happened, by the key each kind carries it under.
TIME_KEYS = ("timestamp", "lastModifiedTime", "closeTime")


class CroctProfiles(base.ProfilesAdapter):
    id_rules = (
        base.IdRule(CROCT_USER, "Croct user id", CROCT_USER_RE, rank=70, hint="a Croct user id"),
    )
    direct_kinds = frozenset({CROCT_USER})
    skip_reason = "Croct exports users by Croct user id only (user-…)."
    export_file_name = "croct-{kind}-{pk}.jsonl"

    def look_up(self, client, kind: str, value: str, *, cached_ids) -> base.Found:
        # providers/croct.md: export — /export/user/{id}, 404 when unknown.
        user = client.export_user(value)
        return base.Found([self.normalize(user)], f"Croct user id {value}")

    def fetch(self, client, profile_id: str) -> dict[str, Any] | None:
        return self.normalize(client.export_user(profile_id))

    def normalize(self, user: dict[str, Any]) -> dict[str, Any]:
        name = " ".join(str(user[k]) for k in ("firstName", "lastName") if user.get(k))
        attributes = {k: v for k, v in user.items() if k != "customAttributes"}
        for key, value in (user.get("customAttributes") or {}).items():
            attributes[f"customAttributes.{key}"] = value
        return base.jsonable(
            {
                "profile_id": str(user.get("userId") or ""),
                # externalUserId is the id the website gave Croct, not a shared customer
                # id (it stays in the attributes): linking another provider by it would
                # find nobody.
                "customer_id": "",
                "name": name,
                "email": str(user.get("email") or "").lower(),
                "phone": str(user.get("phone") or ""),
                "status": "",
                "segments": [],
                "attributes": attributes,
            }
        )

    def clean_export(self, kind: str, event_types: Sequence[str]) -> list[str]:
        types = sorted(set(event_types or [])) if kind == "events" else []
        unknown = [t for t in types if t not in TRACK_EVENT_TYPES]
        if unknown:
            raise base.Refused("event_types", f"unknown event types: {', '.join(unknown)}")
        return types

    def export_page(
        self,
        client,
        *,
        kind: str,
        start_ms: int,
        end_ms: int,
        event_types: Sequence[str],
        cursor: str | None,
        page_size: int,
    ) -> base.ExportPage:
        # providers/croct.md: export — keep calling with nextCursor until items is empty.
        if kind == "events":
            page = client.export_events(
                start_ms, end_ms, list(event_types), page_size=page_size, cursor=cursor
            )
        elif kind == "sessions":
            page = client.export_sessions(start_ms, end_ms, page_size=page_size, cursor=cursor)
        else:
            page = client.export_users(start_ms, end_ms, page_size=page_size, cursor=cursor)
        return base.ExportPage(page.items, page.next_cursor)

    def item_time(self, item: Mapping[str, Any]) -> int | None:
        for key in TIME_KEYS:
            value = item.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
        window = item.get("window")
        if isinstance(window, dict) and isinstance(window.get("start"), int):
            return window["start"]
        return None

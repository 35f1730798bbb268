"""Export data for the Croct sandbox, computed from an index instead of stored.

``event_count`` events are spread evenly over the 30 days before ``anchor_ms``;
every 6 consecutive events form a session, and session ``s`` belongs to user
``s % user_count``. An item is rebuilt from its index on each request, so 100,000
events cost no memory and a page costs only its own items. Ids encode the index
(``<seeded prefix>-<index as 12 hex digits>``) so single look-ups are arithmetic.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import json
import re
from collections.abc import Iterable
from typing import Any

from integrations.croct.sandbox_content import seeded_uuid
from integrations.croct.sandbox_cql import LOCATION

DAY_MS = 86_400_000
SPAN_MS = 30 * DAY_MS
EVENTS_PER_SESSION = 6
KINDS = ("events", "session", "user")

METADATA = {
    "organizationName": "Acme Corp",
    "organizationSlug": "acme",
    "workspaceName": "Website",
    "workspaceSlug": "website",
    "applicationName": "Storefront",
    "applicationSlug": "storefront",
}
# Weighted: most traffic is page views. The first event of a session is a page view.
_EVENT_TYPES = (
    ("pageOpened",) * 6
    + ("productViewed",) * 3
    + ("cartViewed", "cartModified", "checkoutStarted", "orderPlaced", "goalCompleted")
    + ("eventOccurred", "linkOpened", "interestShown", "postViewed", "userSignedIn")
    + ("userSignedOut", "leadGenerated")
)
_PAGES = ("/", "/pricing", "/products/starter-kit", "/blog/personalization-101", "/cart")
_FIRST = ("Grace", "Alan", "Katherine", "Linus", "Margaret", "Dennis", "Barbara", "Ken")
_LAST = ("Hopper", "Turing", "Johnson", "Torvalds", "Hamilton", "Ritchie", "Liskov", "Thompson")
_USER_ID_RE = re.compile(r"^user-(\d{4,})$")


class BadCursor(ValueError):
    pass


class ExportData:
    def __init__(self, *, seed: int, event_count: int, user_count: int, anchor_ms: int):
        self.seed = seed
        self.event_count = max(0, int(event_count))
        self.user_count = max(1, int(user_count))
        self.session_count = -(-self.event_count // EVENTS_PER_SESSION)
        self.t0 = int(anchor_ms) - SPAN_MS
        self._event_prefix = seeded_uuid(seed, "events")[:23]
        self._session_prefix = seeded_uuid(seed, "sessions")[:23]
        self._tab_prefix = seeded_uuid(seed, "tabs")[:23]

    # --- time and identity ----------------------------------------------------------
    def event_time(self, index: int) -> int:
        return self.t0 + index * SPAN_MS // max(1, self.event_count)

    def session_time(self, index: int) -> int:
        return self.event_time(index * EVENTS_PER_SESSION)

    def user_time(self, index: int) -> int:
        return self.t0 + index * SPAN_MS // self.user_count

    def count(self, kind: str) -> int:
        return {"events": self.event_count, "session": self.session_count}.get(
            kind, self.user_count
        )

    def time_of(self, kind: str, index: int) -> int:
        if kind == "events":
            return self.event_time(index)
        if kind == "session":
            return self.session_time(index)
        return self.user_time(index)

    def event_type(self, index: int) -> str:
        if index % EVENTS_PER_SESSION == 0:
            return "pageOpened"
        mixed = (index * 2654435761 + self.seed * 40503) >> 5
        return _EVENT_TYPES[mixed % len(_EVENT_TYPES)]

    @staticmethod
    def user_id(index: int) -> str:
        return f"user-{index + 1:04d}"

    def _id(self, prefix: str, index: int) -> str:
        return f"{prefix}-{index:012x}"

    def _index(self, prefix: str, item_id: str, count: int) -> int | None:
        if not item_id.lower().startswith(prefix) or len(item_id) != 36:
            return None
        try:
            index = int(item_id[24:], 16)
        except ValueError:
            return None
        return index if index < count else None

    # --- items ----------------------------------------------------------------------
    def event(self, index: int) -> dict[str, Any]:
        session = index // EVENTS_PER_SESSION
        user = session % self.user_count
        kind = self.event_type(index)
        path = _PAGES[(index // 2 + session) % len(_PAGES)]
        url = f"https://shop.example.com{path}"
        return {
            "id": self._id(self._event_prefix, index),
            "sessionId": self._id(self._session_prefix, session),
            "userId": self.user_id(user),
            "timestamp": self.event_time(index),
            "context": {
                "type": "web",
                "tabId": self._id(self._tab_prefix, session),
                "url": url,
                "metadata": {},
            },
            "payload": self._payload(kind, index, url, user),
        }

    def _payload(self, kind: str, index: int, url: str, user: int) -> dict[str, Any]:
        if kind == "pageOpened":
            return {"type": kind, "url": url, "referrer": "https://www.google.com/"}
        if kind == "goalCompleted":
            return {"type": kind, "goalId": "newsletter-signup", "value": 10, "currency": "USD"}
        if kind == "eventOccurred":
            return {"type": kind, "name": "video-played", "details": {"seconds": index % 90}}
        if kind == "productViewed":
            return {
                "type": kind,
                "product": {
                    "productId": f"sku-{index % 40:03d}",
                    "name": "Starter kit",
                    "displayPrice": 19.9,
                },
            }
        if kind == "userSignedIn":
            return {"type": kind, "externalUserId": self.user_id(user)}
        return {"type": kind}

    def session(self, index: int) -> dict[str, Any]:
        user = index % self.user_count
        last_event = min(index * EVENTS_PER_SESSION + EVENTS_PER_SESSION, self.event_count) - 1
        end = self.event_time(max(last_event, 0))
        return {
            "sessionId": self._id(self._session_prefix, index),
            "userId": self.user_id(user),
            "externalUserId": self._external_id(user),
            "window": {"start": self.session_time(index), "end": end},
            "closeTime": end + 30 * 60 * 1000,
            "landingPageUrl": f"https://shop.example.com{_PAGES[index % len(_PAGES)]}",
            "referrer": "https://www.google.com/",
            "location": {"city": LOCATION["cityName"], "countryCode": LOCATION["countryCode"]},
            "statistics": {"pageviews": 1 + index % 5},
        }

    def _external_id(self, user: int) -> str | None:
        # One user in five never signed in: anonymous users have no external id.
        return None if user % 5 == 4 else self.user_id(user)

    def user(self, index: int) -> dict[str, Any]:
        item: dict[str, Any] = {
            "userId": self.user_id(index),
            "externalUserId": self._external_id(index),
            "lastModifiedTime": self.user_time(index),
        }
        if item["externalUserId"] is None:
            return item
        if index == 0:
            # The customer every provider's sandbox knows, for cross-provider look-ups.
            first, last, email = "Ada", "Lovelace", "ada@example.com"
        else:
            first = _FIRST[(index + self.seed) % len(_FIRST)]
            last = _LAST[(index * 3 + self.seed) % len(_LAST)]
            email = f"{first}.{last}{index + 1}@example.com".lower()
        item.update(
            firstName=first,
            lastName=last,
            email=email,
            customAttributes={"plan": "pro" if index % 3 == 0 else "free"},
        )
        return item

    def item(self, kind: str, index: int) -> dict[str, Any]:
        if kind == "events":
            return self.event(index)
        if kind == "session":
            return self.session(index)
        return self.user(index)

    def find(self, kind: str, item_id: str) -> dict[str, Any] | None:
        if kind == "events":
            index = self._index(self._event_prefix, item_id, self.event_count)
        elif kind == "session":
            index = self._index(self._session_prefix, item_id, self.session_count)
        else:
            match = _USER_ID_RE.match(item_id)
            index = int(match.group(1)) - 1 if match else None
            index = index if index is not None and 0 <= index < self.user_count else None
        return None if index is None else self.item(kind, index)

    # --- pages ----------------------------------------------------------------------
    def bounds(self, kind: str, start: int, end: int) -> tuple[int, int]:
        """Index range of items with ``start <= time < end``."""
        indexes = range(self.count(kind))

        def key(i: int) -> int:
            return self.time_of(kind, i)

        return bisect.bisect_left(indexes, start, key=key), bisect.bisect_left(
            indexes, end, key=key
        )

    def page(
        self,
        kind: str,
        start: int,
        end: int,
        page_size: int,
        cursor: str | None,
        event_types: Iterable[str] = (),
    ) -> tuple[list[dict[str, Any]], str]:
        low, high = self.bounds(kind, start, end)
        offset = max(low, decode_cursor(cursor, kind)) if cursor else low
        wanted = frozenset(event_types)
        items: list[dict[str, Any]] = []
        index = offset
        while index < high and len(items) < page_size:
            if not wanted or self.event_type(index) in wanted:
                items.append(self.item(kind, index))
            index += 1
        return items, encode_cursor(kind, max(index, offset))


def encode_cursor(kind: str, offset: int) -> str:
    raw = json.dumps({"k": kind, "o": offset}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, kind: str) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        offset = data["o"]
        if data["k"] != kind or not isinstance(offset, int) or offset < 0:
            raise ValueError
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise BadCursor(f"The cursor {cursor[:40]!r} is not valid for this export.") from None
    return offset

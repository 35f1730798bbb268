"""The Octy sandbox's data: seeded profiles made on demand, plus the written overlay.

Seeded profiles are a pure function of (seed, index): nothing is stored until a
write touches one, so ``profile_count=100_000`` costs no memory. Profile ids are an
invertible scramble of the index (``profile_<16 hex>``), so a lookup by id is
arithmetic, not a table. Writes live in small overlay dicts under the app's lock.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from integrations.octy.payloads import CHURN_LABELS

MASK = (1 << 64) - 1
_MULT = 0x9E3779B97F4A7C15
_MULT_INV = pow(_MULT, -1, 1 << 64)
# Writes beyond this many new profiles fail per object: memory stays bounded however
# long a benchmark runs.
MAX_CREATED = 100_000

FIRST_NAMES = (
    "Grace",
    "Alan",
    "Katherine",
    "Edsger",
    "Barbara",
    "Donald",
    "Margaret",
    "Dennis",
    "Frances",
    "Ken",
    "Radia",
    "Tim",
    "Hedy",
    "Claude",
    "Annie",
    "John",
)
LAST_NAMES = (
    "Hopper",
    "Turing",
    "Johnson",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Hamilton",
    "Ritchie",
    "Allen",
    "Thompson",
    "Perlman",
    "Berners-Lee",
    "Lamarr",
    "Shannon",
    "Easley",
    "Backus",
)
PLANS = ("free", "starter", "pro")
PLATFORMS = ("web", "ios", "android")
COUNTRIES = ("GB", "FR", "DE", "US", "BR", "IN")
SEGMENTS = (
    ("high-value", "Value"),
    ("at-risk", "Churn"),
    ("new-signups", "Lifecycle"),
    ("dormant", "Lifecycle"),
)
MESSAGE_TEMPLATES = (
    ("welcome", "email", "Welcome aboard", "Hi {{first_name}}, glad to have you."),
    ("win-back", "push", "We miss you", "Come back for 10% off your next order."),
    ("cart-reminder", "email", "Still thinking?", "Your cart is waiting for you."),
)
EVENT_TYPES = (
    ("charged", ["payment_method", "item_id"]),
    ("page_view", ["url"]),
    ("signup", []),
    ("add_to_cart", ["item_id"]),
)
_EPOCH = datetime(2022, 1, 1)  # naive on purpose: Octy's timestamps carry no zone


def splitmix(x: int) -> int:
    z = (x + 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


def short_id(prefix: str, *parts: Any) -> str:
    digest = hashlib.sha1(":".join(map(str, parts)).encode(), usedforsecurity=False)
    return f"{prefix}_{digest.hexdigest()[:24]}"


def timestamp(seconds: int) -> str:
    return (_EPOCH + timedelta(seconds=seconds)).strftime("%Y-%m-%d %H:%M:%S")


class ProfileStore:
    """Seeded profiles by position, then created ones; deleted ones are tombstones."""

    def __init__(self, seed: int, count: int):
        self.seed = seed
        self.count = count
        self._offset = splitmix(seed)
        self.segment_ids = [short_id("segment", seed, name) for name, _ in SEGMENTS]
        self.seeded_overlay: dict[int, dict[str, Any] | None] = {}
        self.created: dict[str, dict[str, Any] | None] = {}
        self.created_order: list[str] = []
        # customer_id -> profile_id where it differs from the seeded pattern.
        self.customer_index: dict[str, str] = {}
        self.released: set[str] = set()

    # --- identity ---------------------------------------------------------------
    def seeded_id(self, index: int) -> str:
        return f"profile_{(index * _MULT + self._offset) & MASK:016x}"

    def seeded_index(self, profile_id: str) -> int | None:
        hexpart = profile_id[8:] if profile_id.startswith("profile_") else ""
        if len(hexpart) != 16:
            return None
        try:
            value = int(hexpart, 16)
        except ValueError:
            return None
        index = ((value - self._offset) * _MULT_INV) & MASK
        return index if index < self.count else None

    @staticmethod
    def seeded_customer(index: int) -> str:
        return f"cust-{index + 1:05d}"

    # --- seeded attributes ------------------------------------------------------
    def attributes(self, index: int) -> tuple[int, str, list[str]]:
        """(rfm_score, churn_prob, segment ids): what listing filters look at."""
        h = splitmix(self._offset ^ index)
        rfm = (1 + h % 5) * 100 + (1 + (h >> 3) % 5) * 10 + (1 + (h >> 6) % 5)
        churn = CHURN_LABELS[(h >> 9) % 4]
        segments = [sid for bit, sid in enumerate(self.segment_ids) if (h >> (11 + bit)) & 1]
        return rfm, churn, segments

    def seeded_profile(self, index: int) -> dict[str, Any]:
        h = splitmix(self._offset ^ index)
        rfm, churn, segments = self.attributes(index)
        first = FIRST_NAMES[(h >> 20) % len(FIRST_NAMES)]
        last = LAST_NAMES[(h >> 28) % len(LAST_NAMES)]
        status_roll = (h >> 15) % 10
        status = "active" if status_roll < 7 else "inactive" if status_roll < 9 else "churned"
        has_charged = bool((h >> 19) & 1)
        plan = PLANS[(h >> 36) % len(PLANS)]
        if index == 0:
            # The shared demo customer every provider sandbox seeds (phone differs on
            # purpose in one other sandbox for the conflict demo).
            first, last, plan, status, has_charged = "Ada", "Lovelace", "pro", "active", True
            email = "ada@example.com"
        else:
            email = f"{first}.{last}{index + 1}@example.com".lower()
        return {
            "profile_id": self.seeded_id(index),
            "customer_id": self.seeded_customer(index),
            "profile_data": {
                "name": f"{first} {last}",
                "email": email,
                "phone": f"+4477009{index + 1:05d}",
                "plan": plan,
            },
            "platform_info": {
                "platform": PLATFORMS[(h >> 40) % len(PLATFORMS)],
                "country": COUNTRIES[(h >> 44) % len(COUNTRIES)],
            },
            "has_charged": has_charged,
            "status": status,
            "rfm_score": rfm,
            "churn_prob": churn,
            "segments": segments,
            "created_at": timestamp((h >> 24) % (700 * 86400)),
        }

    # --- reads ------------------------------------------------------------------
    def get(self, profile_id: str) -> dict[str, Any] | None:
        if profile_id in self.created:
            return self.created[profile_id]
        index = self.seeded_index(profile_id)
        if index is None:
            return None
        if index in self.seeded_overlay:
            return self.seeded_overlay[index]
        return self.seeded_profile(index)

    def find(self, identifier: str) -> dict[str, Any] | None:
        """A live profile by profile_id or customer_id."""
        if identifier.startswith("profile_"):
            return self.get(identifier)
        profile_id = self.customer_index.get(identifier)
        if profile_id is not None:
            return self.get(profile_id)
        if identifier in self.released or not identifier.startswith("cust-"):
            return None
        try:
            index = int(identifier[5:]) - 1
        except ValueError:
            return None
        if 0 <= index < self.count and identifier == self.seeded_customer(index):
            return self.get(self.seeded_id(index))
        return None

    def is_deleted(self, profile_id: str) -> bool:
        index = self.seeded_index(profile_id)
        if index is not None:
            return index in self.seeded_overlay and self.seeded_overlay[index] is None
        return profile_id in self.created and self.created[profile_id] is None

    def size(self) -> int:
        return self.count + len(self.created_order)

    def scan(
        self, start: int, limit: int, wanted: Callable[[int, str, list[str]], bool] | None
    ) -> tuple[list[dict[str, Any]], int]:
        """Up to ``limit`` live profiles matching ``wanted`` from position ``start``;
        returns them and the position after the last one looked at."""
        found: list[dict[str, Any]] = []
        position = start
        total = self.size()
        while position < total and len(found) < limit:
            if position < self.count:
                if position in self.seeded_overlay:
                    record = self.seeded_overlay[position]
                elif wanted is None or wanted(*self.attributes(position)):
                    record = self.seeded_profile(position)
                else:
                    record = None
            else:
                record = self.created.get(self.created_order[position - self.count])
            position += 1
            if record is None:
                continue
            if wanted is None or wanted(
                record["rfm_score"], record["churn_prob"], record["segments"]
            ):
                found.append(record)
        return found, position

    # --- writes -----------------------------------------------------------------
    def put(self, record: dict[str, Any]) -> None:
        profile_id = record["profile_id"]
        index = self.seeded_index(profile_id)
        if index is not None:
            self.seeded_overlay[index] = record
        else:
            if profile_id not in self.created:
                self.created_order.append(profile_id)
            self.created[profile_id] = record

    def claim_customer(self, customer_id: str, profile_id: str) -> None:
        self.released.discard(customer_id)
        self.customer_index[customer_id] = profile_id

    def rename_customer(self, old: str, new: str, profile_id: str) -> None:
        self.customer_index.pop(old, None)
        self.released.add(old)
        self.claim_customer(new, profile_id)

    def delete(self, profile_id: str) -> bool:
        record = self.get(profile_id)
        if record is None:
            return False
        index = self.seeded_index(profile_id)
        if index is not None:
            self.seeded_overlay[index] = None
        else:
            self.created[profile_id] = None
        self.customer_index.pop(record["customer_id"], None)
        self.released.add(record["customer_id"])
        return True

    def new_profile_id(self) -> str:
        # 24 hex digits: never mistaken for a seeded (16-digit) id.
        return short_id("profile", self.seed, "created", len(self.created_order))

    def can_create(self) -> bool:
        return len(self.created_order) < MAX_CREATED

"""State behind the Altcraft emulator: a profile database and the dedup memory.

Seeded profiles are never stored: profile *i* is computed from (seed, i) when asked
for, so 100,000 of them cost nothing until written. Only profiles changed since
start (``_overrides``) and profiles created since start live in memory, and those
are bounded by the tariff limit (code 402). Not thread-safe by itself: the sandbox
holds its lock around every call.
"""

from __future__ import annotations

import bisect
import hashlib
import re
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

SEED_PREFIX = "5f4fa1a5"  # seeded ids: prefix + 16 hex digits of the index
NEW_PREFIX = "65"  # ids created here sort after every seeded id, like ObjectIds do
SHARED_PHONE = "+15550000000"  # two seeded profiles share it: `get` by phone -> 435
ADA = {
    "_fname": "Ada",
    "_lname": "Lovelace",
    "email": "ada@example.com",
    "phones": ["+447700900999"],
    "_city": "London",
    "_country": "GB",
    "customer_id": "cust-00001",
}
FIRST_NAMES = (
    *("Alan", "Grace", "Edsger", "Barbara", "Donald", "Frances", "Ken", "Margaret"),
    *("John", "Radia", "Tim", "Hedy", "Dennis", "Katherine", "Niklaus", "Sophie"),
    *("Linus", "Adele", "Guido", "Karen"),
)
LAST_NAMES = (
    *("Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson", "Hamilton"),
    *("Backus", "Perlman", "Berners-Lee", "Lamarr", "Ritchie", "Johnson", "Wirth"),
    *("Wilson", "Torvalds", "Goldberg", "Rossum", "Jones"),
)
PLACES = (
    ("London", "GB"),
    ("Manchester", "GB"),
    ("Berlin", "DE"),
    ("Paris", "FR"),
    ("Lisbon", "PT"),
    ("Warsaw", "PL"),
    ("Austin", "US"),
    ("Toronto", "CA"),
)
_EMAIL_RE = re.compile(r"\.(\d+)@example\.com$")
_PHONE_RE = re.compile(r"^\+1555(\d{7})$")
_CUSTOMER_RE = re.compile(r"^cust-(\d+)$")


class ApiError(Exception):
    """An Altcraft body error: answered as HTTP 200 with ``{"error": code, …}``."""

    def __init__(self, code: int, text: str):
        super().__init__(text)
        self.code = code
        self.text = text


def seeded_id(index: int) -> str:
    return f"{SEED_PREFIX}{index:016x}"


def seeded_profile(seed: int, index: int) -> dict[str, Any]:
    """Profile *index* of the seeded database (a fresh dict the caller may keep)."""
    if index == 0:
        return {**ADA, "phones": list(ADA["phones"])}
    mix = (index * 2654435761 + seed * 40503) & 0xFFFFFFFF
    fname = FIRST_NAMES[mix % len(FIRST_NAMES)]
    lname = LAST_NAMES[(mix >> 8) % len(LAST_NAMES)]
    city, country = PLACES[(mix >> 16) % len(PLACES)]
    number = index + 1
    phone = SHARED_PHONE if index in (1, 2) else f"+1555{number:07d}"
    return {
        "_fname": fname,
        "_lname": lname,
        "email": f"{fname}.{lname}.{number:05d}@example.com".lower(),
        "phones": [phone],
        "_city": city,
        "_country": country,
        "customer_id": f"cust-{number:05d}",
    }


def _index_keys(fields: dict[str, Any]) -> Iterable[tuple[str, str]]:
    for key, value in fields.items():
        if key == "phones" and isinstance(value, list):
            for phone in value:
                yield ("phone", str(phone))
        elif isinstance(value, str | int) and not isinstance(value, bool):
            yield (key, str(value))


def has_value(fields: dict[str, Any], field: str, value: str) -> bool:
    if field == "phone":
        return value in [str(p) for p in fields.get("phones") or []]
    current = fields.get(field)
    return current is not None and str(current) == value


class ProfileDatabase:
    """One Altcraft profile database (``db_id``) holding seeded and written profiles."""

    def __init__(self, *, seed: int, profile_count: int, profile_limit: int):
        self.seed = seed
        self.count = profile_count
        self.limit = profile_limit
        self._overrides: dict[str, dict[str, Any] | None] = {}
        self._new_ids: list[str] = []
        self._index: dict[tuple[str, str], set[str]] = {}
        self._next = 0
        self.alive = profile_count

    # --- reading --------------------------------------------------------------------
    def _seeded_index(self, profile_id: str) -> int | None:
        if len(profile_id) != 24 or not profile_id.startswith(SEED_PREFIX):
            return None
        try:
            index = int(profile_id[8:], 16)
        except ValueError:
            return None
        return index if index < self.count else None

    def get(self, profile_id: str) -> dict[str, Any] | None:
        if profile_id in self._overrides:
            return self._overrides[profile_id]
        index = self._seeded_index(profile_id)
        return None if index is None else seeded_profile(self.seed, index)

    def find(self, field: str, value: str) -> list[str]:
        """Ids of the profiles whose ``field`` is ``value`` (``phone``: one of phones)."""
        if field == "profile_id":
            return [value] if self.get(value) is not None else []
        candidates = set(self._index.get((field, value), ()))
        for index in self._seeded_candidates(field, value):
            candidates.add(seeded_id(index))
        return sorted(
            pid
            for pid in candidates
            if (fields := self.get(pid)) is not None and has_value(fields, field, value)
        )

    def _seeded_candidates(self, field: str, value: str) -> Iterable[int]:
        if field == "email":
            if value == ADA["email"]:
                return [0]
            match = _EMAIL_RE.search(value)
        elif field == "phone":
            if value == SHARED_PHONE:
                return [1, 2]
            if value == ADA["phones"][0]:
                return [0]
            match = _PHONE_RE.match(value)
        elif field == "customer_id":
            match = _CUSTOMER_RE.match(value)
        else:
            # Any other field: no shortcut, look at every seeded profile.
            return (
                i
                for i in range(self.count)
                if has_value(seeded_profile(self.seed, i), field, value)
            )
        if match is None:
            return []
        index = int(match.group(1)) - 1
        return [index] if 0 <= index < self.count else []

    def page(self, from_id: str | None, limit: int) -> list[tuple[str, dict[str, Any]]]:
        """Up to ``limit`` profiles with ids greater than ``from_id``, in id order."""
        if from_id is None or from_id < SEED_PREFIX:
            start = 0
        elif from_id.startswith(SEED_PREFIX):
            start = int(from_id[8:], 16) + 1
        else:
            start = self.count
        out: list[tuple[str, dict[str, Any]]] = []
        for index in range(start, self.count):
            if len(out) >= limit:
                return out
            pid = seeded_id(index)
            fields = self.get(pid)
            if fields is not None:
                out.append((pid, fields))
        position = bisect.bisect_right(self._new_ids, from_id) if from_id else 0
        for pid in self._new_ids[position:]:
            if len(out) >= limit:
                break
            fields = self._overrides.get(pid)
            if fields is not None:
                out.append((pid, fields))
        return out

    # --- writing --------------------------------------------------------------------
    def create(self, fields: dict[str, Any]) -> str:
        if self.alive >= self.limit:
            raise ApiError(402, "Tariff limit reached")
        self._check_unique(None, fields)
        self._next += 1
        pid = f"{NEW_PREFIX}{self._next:022x}"
        self._new_ids.append(pid)
        self._store(pid, fields)
        self.alive += 1
        return pid

    def update(self, profile_id: str, data: dict[str, Any]) -> None:
        current = self.get(profile_id)
        if current is None:
            raise ApiError(404, "Profile not found")
        merged = {**current, **data}
        self._check_unique(profile_id, merged)
        self._unindex(profile_id, current)
        self._store(profile_id, merged)

    def delete(self, profile_id: str) -> None:
        current = self.get(profile_id)
        if current is None:
            raise ApiError(404, "Profile not found")
        self._unindex(profile_id, current)
        self._overrides[profile_id] = None
        self.alive -= 1

    def _check_unique(self, profile_id: str | None, fields: dict[str, Any]) -> None:
        # providers/altcraft.md: `add` rejects a duplicate unique email (409); the
        # email is unique per database for every write.
        email = fields.get("email")
        if email and any(pid != profile_id for pid in self.find("email", str(email))):
            raise ApiError(409, "Another record with the same unique attributes already exists")

    def _store(self, profile_id: str, fields: dict[str, Any]) -> None:
        self._overrides[profile_id] = fields
        for key in _index_keys(fields):
            self._index.setdefault(key, set()).add(profile_id)

    def _unindex(self, profile_id: str, fields: dict[str, Any]) -> None:
        for key in _index_keys(fields):
            ids = self._index.get(key)
            if ids is not None:
                ids.discard(profile_id)
                if not ids:
                    del self._index[key]


@dataclass
class Remembered:
    expires: float
    status: int
    content_type: str
    body: bytes


class DedupMemory:
    """Data-changing requests seen in the last ``ttl`` seconds (an LRU, bounded twice:
    by entry count and by the bytes of remembered answers)."""

    def __init__(
        self, *, ttl: float = 86400.0, max_entries: int = 50_000, max_bytes: int = 64 << 20
    ):
        self.ttl = ttl
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, Remembered] = OrderedDict()
        self._bytes = 0

    @staticmethod
    def key(path: str, headers: Iterable[tuple[str, str]], body: bytes) -> str:
        digest = hashlib.sha256(path.encode())
        for name, value in headers:
            digest.update(f"\n{name.lower()}:{value}".encode())
        digest.update(b"\n\n")
        digest.update(body)
        return digest.hexdigest()

    def recall(self, key: str) -> Remembered | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires < time.monotonic():
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return entry

    def remember(self, key: str, status: int, content_type: str, body: bytes) -> None:
        if key in self._entries:
            self._drop(key)
        self._entries[key] = Remembered(time.monotonic() + self.ttl, status, content_type, body)
        self._bytes += len(body)
        while self._entries and (
            len(self._entries) > self.max_entries or self._bytes > self.max_bytes
        ):
            self._drop(next(iter(self._entries)))

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key)
        self._bytes -= len(entry.body)

    def __len__(self) -> int:
        return len(self._entries)

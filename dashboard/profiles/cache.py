"""The local cache of fetched provider profiles: writing pages of them, searching it.

Reads and writes both live here because they share one idea: the search keys
(``name_key``, ``name_rev``, ``email``) are computed on write so that a search is a few
index range scans (prefix match as ``>= q`` and ``< q + U+FFFF``), never a table scan.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.db import connection, transaction

from dashboard.core.text import clean_json
from dashboard.profiles.models import CachedProfile

SEARCH_LIMIT = 50
_HIGH = "\uffff"


def _name_keys(name: str) -> tuple[str, str]:
    words = name.lower().split()
    return " ".join(words)[:200], " ".join(reversed(words))[:200]


def _search_fields(p: dict[str, Any]) -> dict[str, Any]:
    name = str(p.get("name") or "")[:200]
    name_key, name_rev = _name_keys(name)
    return {
        "profile_id": str(p["profile_id"])[:100],
        "customer_id": str(p.get("customer_id") or "")[:100],
        "name": name,
        "name_key": name_key,
        "name_rev": name_rev,
        "email": str(p.get("email") or "").lower()[:254],
        "phone": str(p.get("phone") or "")[:40],
        "status": str(p.get("status") or "")[:40],
        "segments": list(p.get("segments") or []),
        "data": p,
    }


UPDATED = (
    "customer_id",
    "name",
    "name_key",
    "name_rev",
    "email",
    "phone",
    "status",
    "segments",
    "data",
    "fetched_at",
)
JSON_COLUMNS = frozenset({"segments", "data"})


def cache_upsert(*, account, profiles: list[dict[str, Any]], fetched_at: datetime) -> int:
    """Insert or refresh ``profiles`` (normalized); returns the count."""
    if not profiles:
        return 0
    # COPY below bypasses the connection's NUL cleaning (dashboard/core/text.py).
    profiles = clean_json(profiles)
    if connection.vendor == "postgresql":
        _upsert_postgresql(account.pk, profiles, fetched_at)
        return len(profiles)
    rows = [
        CachedProfile(account=account, fetched_at=fetched_at, **_search_fields(p)) for p in profiles
    ]
    CachedProfile.objects.bulk_create(
        rows,
        update_conflicts=True,
        unique_fields=["account", "profile_id"],
        update_fields=list(UPDATED),
    )
    return len(rows)


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: Any) -> str:
    return str(value).translate(_COPY_ESCAPES)


def _upsert_postgresql(account_id: int, profiles: list[dict[str, Any]], fetched_at) -> None:
    # A page is streamed with COPY into a temporary table and merged with one
    # INSERT … ON CONFLICT: bulk_create's UNNEST of text arrays spent ~4/5 of a sync
    # dumping the arrays, and per-row statements pay a round trip each.
    columns = ("account_id", "profile_id", *UPDATED)
    table = CachedProfile._meta.db_table
    stamp = fetched_at.isoformat()
    lines = []
    # One row per profile: ON CONFLICT may not touch a row twice in one statement.
    unique = {str(p["profile_id"])[:100]: p for p in profiles}
    for p in unique.values():
        row = _search_fields(p)
        row["account_id"] = account_id
        row["fetched_at"] = stamp
        row["segments"] = json.dumps(row["segments"])
        row["data"] = json.dumps(row["data"])
        lines.append("\t".join(_copy_text(row[c]) for c in columns))
    payload = "\n".join(lines) + "\n"
    names = ", ".join(columns)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in UPDATED)
    with transaction.atomic(), connection.cursor() as cursor:
        raw = cursor.cursor
        # Lives as long as the connection; emptied at every commit.
        raw.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS cached_profile_page ON COMMIT DELETE ROWS "  # noqa: S608
            f"AS SELECT {names} FROM {table} WITH NO DATA"
        )
        # Emptied at commit, but an enclosing transaction may have used it already.
        raw.execute("TRUNCATE cached_profile_page")
        with raw.copy(f"COPY cached_profile_page ({names}) FROM STDIN") as copy:
            copy.write(payload)
        # Table and column names come from the model; the values came through COPY.
        raw.execute(
            f"INSERT INTO {table} ({names}) SELECT {names} FROM cached_profile_page "  # noqa: S608
            f"ON CONFLICT (account_id, profile_id) DO UPDATE SET {updates}"
        )


def cache_lookup_ids(*, account, field: str, value: str) -> list[str]:
    """Profile ids in ``account``'s cache whose email or phone equals ``value``."""
    if field not in ("email", "phone"):
        return []
    rows = CachedProfile.objects.filter(account=account, **{field: value.lower()})
    return list(rows.values_list("profile_id", flat=True)[:100])


def cache_search(*, text: str, account_id: int | None = None) -> list[CachedProfile]:
    """Cached profiles whose email, name, or last-name-first name starts with ``text``
    (or whose profile or customer id is ``text``), by name, at most SEARCH_LIMIT.

    One index range scan per key, each limited, then merged: an OR of the ranges
    under one ORDER BY makes PostgreSQL walk the name index through the whole table.
    """
    q = " ".join((text or "").lower().split())
    rows = CachedProfile.objects.all()
    if account_id:
        rows = rows.filter(account_id=account_id)
    if not q:
        return list(rows.select_related("account").order_by("name_key", "id")[:SEARCH_LIMIT])
    ids: set[int] = set()
    for key in ("email", "name_key", "name_rev"):
        matching = rows.filter(**{f"{key}__gte": q, f"{key}__lt": q + _HIGH}).order_by(key)
        ids.update(matching.values_list("id", flat=True)[:SEARCH_LIMIT])
    exact = text.strip()
    for key in ("customer_id", "profile_id"):
        ids.update(rows.filter(**{key: exact}).values_list("id", flat=True)[:SEARCH_LIMIT])
    found = CachedProfile.objects.filter(id__in=ids).select_related("account")
    return list(found.order_by("name_key", "id")[:SEARCH_LIMIT])

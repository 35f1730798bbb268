"""Emulator of Altcraft Platform's profiles API (providers/altcraft.md).

``POST /api/v1.1/profiles/<method>`` with ``get``, ``list``, ``import``, ``add``,
``update``, ``delete`` and the ``*_batch`` writes. Like the real platform it answers
HTTP 200 for every API-level failure and puts the code in the body
(``{"error": 404, "error_text": …}``); only injected transport faults (429, 5xx,
timeouts) use other HTTP statuses.

Choices where the note leaves room (documented here, asserted by the tests):
- token from the body's ``token``, else ``Authorization: Bearer``, else ``?token=``
  (works, insecure); missing -> 401 "API token required", rejected -> 401 too
  (Altcraft has no separate "invalid token" code); a token containing ``0000feed``
  is valid but has no write role -> 403 on every data-changing method.
- ``db_id`` unknown, or not in the given ``resource_id`` -> 413. Database 1 lives in
  resource 1 and holds the seeded profiles; database 2 (resource 2) is empty.
- ``list`` is exclusive of ``from_id``; ``limit`` 1..1000 (else 450), default 100.
  The doc promises no page size, so with ``short_pages`` (constructor option or
  ``app.short_pages = True``) a page holds between half of ``limit`` and all of it,
  chosen from a hash of the cursor: clients must page on until an empty page.
- Seeded data: ``ada@example.com`` (Ada Lovelace, ``cust-00001``, +447700900999) is
  profile 0; profiles 1 and 2 share ``+15550000000`` so a phone match is ambiguous (435).
- Data-changing requests are remembered for ``dedup_ttl`` seconds keyed by a hash of
  the path, Content-Type, Accept, X-Request-ID, Authorization and the body bytes; a
  repeat gets the first answer again with ``X-Duplicate-Request: true`` and
  ``X-Duplicate-Key`` and changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import Counter
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from integrations.altcraft import xmlcodec
from integrations.altcraft.sandbox_data import ApiError, DedupMemory, ProfileDatabase
from integrations.altcraft.sandbox_requests import (
    clean_data,
    criteria,
    find_matches,
    find_one,
    identity_fields,
    int_param,
    loose_body,
    parse_body,
    response_format,
    token_of,
)
from integrations.sandbox import SandboxApp, run_cli

READ_METHODS = frozenset({"get", "list"})
WRITE_METHODS = frozenset(
    {"import", "import_batch", "add", "add_batch", "update", "update_batch", "delete"}
)
READ_ONLY_MARKER = "0000feed"
MAX_LIMIT = 1000
MAX_BATCH = 1000
MAX_BODY = 10 << 20
# db_id -> the resources it is available in.
DATABASES = {1: frozenset({1}), 2: frozenset({2})}
OK_TEXT = "Successful operation"
_HEX24 = re.compile(r"^[0-9a-fA-F]{24}$")
DEDUP_HEADERS = ("Content-Type", "Accept", "X-Request-ID", "Authorization")

DEMO_SETTINGS: dict[str, str] = {"db_id": "1", "resource_id": "1", "format": "json"}
DEMO_SECRETS: dict[str, str] = {"token": "5a7c0e3f9b2d4e6f8a1c3b5d7e9f0a2c"}


class AltcraftSandbox(SandboxApp):
    provider = "altcraft"

    def __init__(
        self,
        *,
        seed: int = 7,
        profile_count: int = 3000,
        profile_limit: int | None = None,
        dedup_ttl: float = 86400.0,
        dedup_max_entries: int = 50_000,
        short_pages: bool = False,
    ):
        self.profile_count = profile_count
        self.short_pages_default = short_pages
        self.short_pages = short_pages
        # The tariff limit (402) doubles as the bound on what the sandbox stores.
        self.profile_limit = profile_count + 200_000 if profile_limit is None else profile_limit
        self.dedup_ttl = dedup_ttl
        self.dedup_max_entries = dedup_max_entries
        super().__init__(seed=seed)
        # Re-entrant: an API error raised while the store is locked counts itself.
        self.store_lock = threading.RLock()
        self._fresh_state()

    def _fresh_state(self) -> None:
        self.databases = {
            1: ProfileDatabase(
                seed=self.seed, profile_count=self.profile_count, profile_limit=self.profile_limit
            ),
            2: ProfileDatabase(seed=self.seed, profile_count=0, profile_limit=self.profile_limit),
        }
        self.dedup = DedupMemory(ttl=self.dedup_ttl, max_entries=self.dedup_max_entries)
        self.counters: Counter[str] = Counter()

    def rules(self) -> list[Rule]:
        return [
            Rule("/api/v1.1/profiles/<method>", endpoint="profiles", methods=["POST"]),
            Rule("/api/v1.1/<path:rest>", endpoint="unknown_method", methods=["POST"]),
        ]

    # --- base hooks -----------------------------------------------------------------
    def credential_of(self, request: Request) -> str:
        return token_of(request, loose_body(request))

    def error_response(self, request: Request, status: int, message: str) -> Response:
        # Transport-level answers (injected 429/5xx, unknown routes) keep their HTTP
        # status but still speak Altcraft's body shape.
        return self._answer(request, {"error": status, "error_text": message}, None, status)

    def malformed_response(self, request: Request) -> Response:
        if response_format(request, None) == "xml":
            return Response(
                b"<xml><error>0</error><error_text>Succ", content_type="application/xml"
            )
        return Response(b'{"error": 0, "error_text": "Succ', content_type="application/json")

    def reset(self) -> None:
        super().reset()
        self.short_pages = self.short_pages_default
        with self.store_lock:
            self._fresh_state()

    def stats(self) -> dict[str, Any]:
        with self.store_lock:
            return {
                "profiles": self.databases[1].alive,
                "dedup_keys": len(self.dedup),
                **dict(self.counters),
            }

    # --- endpoints ------------------------------------------------------------------
    def unknown_method(self, request: Request, rest: str) -> Response:
        return self._api_error(request, None, 501, f"The method does not exist: {rest}")

    def profiles(self, request: Request, method: str) -> Response:
        if method not in READ_METHODS and method not in WRITE_METHODS:
            return self._api_error(request, None, 501, f"The method does not exist: {method}")
        mimetype = request.mimetype
        if mimetype not in ("application/json", "application/xml", "text/xml"):
            return self._api_error(request, None, 415, "Requested Content-Type is not supported")
        if (request.content_length or 0) > MAX_BODY:
            return self._api_error(request, None, 400, "Incorrect request: body too large")
        raw = request.get_data(cache=True)
        try:
            body = parse_body(raw, mimetype)
        except ValueError as exc:
            return self._api_error(request, None, 400, f"Incorrect request: {exc}")
        token = token_of(request, body)
        if not token:
            return self._api_error(request, body, 401, "API token required")
        if not self.credential_accepted(token):
            return self._api_error(request, body, 401, "API token required: the token is invalid")
        if method in READ_METHODS:
            return self._run(request, body, method)
        if READ_ONLY_MARKER in token.lower():
            return self._api_error(request, body, 403, "No rights for this action")
        key = DedupMemory.key(
            request.path, ((h, request.headers.get(h, "")) for h in DEDUP_HEADERS), raw
        )
        # One lock around recall + apply + remember: two identical requests racing
        # must still be applied once.
        with self.store_lock:
            seen = self.dedup.recall(key)
            if seen is not None:
                self.counters["duplicates"] += 1
                return Response(
                    seen.body,
                    status=seen.status,
                    content_type=seen.content_type,
                    headers={"X-Duplicate-Request": "true", "X-Duplicate-Key": key},
                )
            response = self._run(request, body, method, locked=True)
            self.dedup.remember(key, response.status_code, response.content_type, response.data)
        return response

    def _run(self, request: Request, body: dict[str, Any], method: str, locked=False) -> Response:
        try:
            if locked:
                payload = self._handle(method, body)
            else:
                with self.store_lock:
                    payload = self._handle(method, body)
        except ApiError as exc:
            return self._api_error(request, body, exc.code, exc.text)
        return self._answer(request, {"error": 0, "error_text": OK_TEXT, **payload}, body)

    # --- method semantics (store lock held) -------------------------------------------
    def _handle(self, method: str, body: dict[str, Any]) -> dict[str, Any]:
        self.counters[f"calls.{method}"] += 1
        db = self._database(body)
        if method == "get":
            pid = find_one(db, *criteria(body))
            return {"profile": {"id": pid, **db.get(pid)}}
        if method == "list":
            return {"profiles": self._list(db, body)}
        if method.endswith("_batch"):
            return {"data": self._batch(db, method[: -len("_batch")], body.get("data"))}
        return self._write(db, method, body)

    def _database(self, body: dict[str, Any]) -> ProfileDatabase:
        db_id = int_param(body, "db_id", required=True)
        resource_id = int_param(body, "resource_id")
        resources = DATABASES.get(db_id)
        if resources is None or (resource_id is not None and resource_id not in resources):
            raise ApiError(413, "The database is not available in the selected resource")
        return self.databases[db_id]

    def _list(self, db: ProfileDatabase, body: dict[str, Any]) -> list[dict[str, Any]]:
        limit = int_param(body, "limit") or 100
        if not 1 <= limit <= MAX_LIMIT:
            raise ApiError(450, f"Request validation error: limit must be 1..{MAX_LIMIT}")
        from_id = body.get("from_id") or None
        if from_id is not None and not _HEX24.match(str(from_id)):
            raise ApiError(450, "Request validation error: from_id must be a profile id")
        if self.short_pages:
            limit = _short_limit(limit, from_id)
        return [{"id": pid, **fields} for pid, fields in db.page(from_id, limit)]

    def _write(self, db: ProfileDatabase, method: str, body: dict[str, Any]) -> dict[str, Any]:
        data = clean_data(body.get("data"))
        if method == "add":
            fields = {**identity_fields(body), **data}
            pid = db.create(fields)
            self.counters["created"] += 1
            return {"profile_id": pid}
        wanted = criteria(body)
        if method == "delete":
            pid = find_one(db, *wanted)
            db.delete(pid)
            self.counters["deleted"] += 1
            return {"data": {"profile_id": pid}}
        ids = find_matches(db, *wanted)
        if len(ids) > 1:
            raise ApiError(435, "Ambiguous search, there are several objects with given attributes")
        if not ids:
            if method == "update":
                raise ApiError(404, "Profile not found")
            pid = db.create({**identity_fields(body), **data})
            self.counters["created"] += 1
            return {"profile_id": pid}
        db.update(ids[0], data)
        self.counters["updated"] += 1
        return {"profile_id": ids[0]}

    def _batch(self, db: ProfileDatabase, method: str, entries: Any) -> list[dict[str, Any]]:
        if not isinstance(entries, list) or not entries:
            raise ApiError(450, "Request validation error: data must list the objects")
        if len(entries) > MAX_BATCH:
            raise ApiError(450, f"Request validation error: at most {MAX_BATCH} objects")
        results = []
        for entry in entries:
            try:
                if not isinstance(entry, dict):
                    raise ApiError(450, "Request validation error: an object is not a mapping")
                outcome = self._write(db, method, entry)
                results.append({"error": 0, "error_text": OK_TEXT, **outcome})
            except ApiError as exc:
                results.append({"error": exc.code, "error_text": exc.text})
        return results

    # --- answers --------------------------------------------------------------------
    def _api_error(self, request: Request, body: Any, code: int, text: str) -> Response:
        # providers/altcraft.md: errors live in the body; HTTP 200 means the transport
        # worked.
        with self.store_lock:
            self.counters[f"errors.{code}"] += 1
        return self._answer(request, {"error": code, "error_text": text}, body)

    def _answer(self, request: Request, payload: dict, body: Any, status: int = 200) -> Response:
        if response_format(request, body) == "xml":
            return Response(xmlcodec.encode(payload), status=status, content_type="application/xml")
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        return Response(data, status=status, content_type="application/json")


def _short_limit(limit: int, from_id: str | None) -> int:
    """Between ceil(limit / 2) and ``limit`` rows, the same for the same cursor."""
    digest = hashlib.sha256(str(from_id or "").encode()).digest()
    least = (limit + 1) // 2
    return least + digest[0] % (limit - least + 1)


def create_app(seed: int = 7, **options: Any) -> AltcraftSandbox:
    return AltcraftSandbox(seed=seed, **options)


if __name__ == "__main__":
    run_cli(create_app, default_port=8104)

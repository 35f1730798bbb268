"""The parts of the Octy emulator every endpoint shares (providers/octy.md).

Request guards in the order the real API applies them: the per-IP rate limit, the
header checks on the body (501 Transfer-Encoding, 411 Content-Length, 413 size,
415 Content-Type), then HTTP Basic auth (400 missing, 401 wrong). Plus Octy's body
shapes: ``request_meta`` on every answer, the ``error`` object on failures, 422
field-level entries, partial-failure lists.

Past the ~400-line hint: the guards are applied in one documented order and read
best in one place.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import time
from collections import Counter, deque
from itertools import cycle
from typing import Any

from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wrappers import Request, Response

from integrations.octy.sandbox_store import (
    EVENT_TYPES,
    MESSAGE_TEMPLATES,
    SEGMENTS,
    ProfileStore,
    short_id,
    timestamp,
)
from integrations.sandbox import SandboxApp, json_response

HELP = "https://octy.ai/docs/"
AUTH_REJECTED = "Invalid public_key or secret_key provided"
EXHAUSTED = "Invalid pagination cursor: pagination cursor exhausted"
TYPE_ERRORS = {str: "str", dict: "dict", list: "list", bool: "bool", int: "integer"}


class Refused(Exception):
    """Raised inside a handler to answer with ``response`` straight away."""

    def __init__(self, response: Response):
        self.response = response


class OctyBase(SandboxApp):
    provider = "octy"

    def __init__(
        self,
        *,
        seed: int = 7,
        profile_count: int = 5_000,
        rate_limit_per_minute: int | None = 120,
        page_size: int = 100,
        legacy_failure_shape: bool = False,
        string_error_codes: bool = False,
        max_body_bytes: int = 2 * 1024 * 1024,
        result_lists: str = "always",
        template_list_key: str = "message_templates",
    ):
        super().__init__(seed=seed)
        # Where the doc is silent the emulator can vary: "never" answers writes with a
        # bare request_meta (no result list), "alternate" switches at every write.
        if result_lists not in ("always", "never", "alternate"):
            raise ValueError("result_lists must be always, never or alternate")
        self.result_lists = result_lists
        self.template_list_key = template_list_key
        self.profile_count = profile_count
        self.rate_limit = rate_limit_per_minute
        self.page_size = page_size
        self.legacy_failure_shape = legacy_failure_shape
        self.string_error_codes = string_error_codes
        self.max_body_bytes = max_body_bytes
        self._seed_state()

    def _seed_state(self) -> None:
        with self.lock:
            self.store = ProfileStore(self.seed, self.profile_count)
            self.event_types: dict[str, dict[str, Any]] = {}
            for i, (name, props) in enumerate(EVENT_TYPES):
                self.event_types[name] = {
                    "event_type_id": short_id("event_type", self.seed, name),
                    "event_type": name,
                    "event_properties": list(props),
                    "created_at": timestamp(i * 3600),
                }
            self.items: dict[str, dict[str, Any]] = {}
            for i in range(1, 21):
                item_id = f"item-{i:04d}"
                self.items[item_id] = {
                    "item_id": item_id,
                    "item_category": ("books", "courses", "hardware")[i % 3],
                    "item_name": f"Demo item {i}",
                    "item_description": f"Seeded demo item number {i}",
                    "item_price": 500 * i,
                }
            self.segments = [
                {
                    "segment_id": segment_id,
                    "segment_name": name,
                    "segment_type": kind,
                    "created_at": timestamp(86400 * (i + 1)),
                }
                for i, ((name, kind), segment_id) in enumerate(
                    zip(SEGMENTS, self.store.segment_ids, strict=True)
                )
            ]
            self.message_templates = [
                {
                    "template_id": short_id("template", self.seed, name),
                    "template_name": name,
                    "template_type": kind,
                    "title": title,
                    "content": content,
                    "created_at": timestamp(7200 * (i + 1)),
                }
                for i, (name, kind, title, content) in enumerate(MESSAGE_TEMPLATES)
            ]
            self._writes_answered = 0
            # The doc answers an unauthenticated request 401, the backend 400: vary.
            self._missing_auth_status = cycle((400, 401))
            self.fail_after_write = 0
            self.hits: Counter[str] = Counter()
            self.events_created = 0
            self.recent_events: deque[dict[str, Any]] = deque(maxlen=1000)
            self.windows: dict[str, deque[float]] = {}

    # --- SandboxApp hooks -------------------------------------------------------
    def reset(self) -> None:
        super().reset()
        self._seed_state()

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "endpoints": dict(self.hits),
                "events_created": self.events_created,
                "profiles_created": len(self.store.created_order),
                "profiles_changed": len(self.store.seeded_overlay),
            }

    def credential_of(self, request: Request) -> str:
        pair = self._basic_pair(request)
        return pair[1] if pair else ""

    def error_response(self, request: Request, status: int, message: str) -> Response:
        return self.octy_error(status, message)

    def dispatch(self, request: Request) -> Response:
        if request.path.startswith("/_sandbox/"):
            return super().dispatch(request)
        refused = self._guard(request)
        if refused is not None:
            with self.lock:
                self.request_count += 1
                self.hits["refused"] += 1
            return refused
        try:
            response = super().dispatch(request)
        except Refused as exc:
            return exc.response
        if request.method == "POST" and response.status_code < 300:
            with self.lock:
                fail = self.fail_after_write > 0
                self.fail_after_write -= fail
            if fail:
                # The write was applied; the answer says 500 (providers/octy.md: a
                # 500 after a write is ambiguous).
                return self.octy_error(500, "Internal server error")
        return response

    def control(self, request: Request) -> Response:
        if request.path == "/_sandbox/fail_after_write":
            if request.method == "POST":
                try:
                    count = int(json.loads(request.get_data() or b"{}").get("count", 1))
                except (ValueError, TypeError, AttributeError) as exc:
                    return json_response({"error": str(exc)}, status=400)
                with self.lock:
                    self.fail_after_write = max(0, count)
            return json_response({"count": self.fail_after_write})
        return super().control(request)

    # --- guards -----------------------------------------------------------------
    def _guard(self, request: Request) -> Response | None:
        if self.rate_limit is not None:
            limited = self._rate_limited(request.remote_addr or "unknown")
            if limited is not None:
                return limited
        if "Transfer-Encoding" in request.headers:
            return self.octy_error(501, "Transfer-Encoding is not supported")
        if request.method == "POST":
            length = request.headers.get("Content-Length")
            if length is None:
                return self.octy_error(411, "A Content-Length header is required")
            if not length.isdigit() or int(length) > self.max_body_bytes:
                return self.octy_error(413, "Request entity is larger than the allowed limit")
            if request.headers.get("Content-Type") != "application/json":
                return self.octy_error(415, "Content-Type must be application/json")
        if not request.headers.get("Authorization"):
            with self.lock:
                status = next(self._missing_auth_status)
            return self.octy_error(
                status,
                "Missing Authorization header: HTTP basic auth is required",
                "authentication",
            )
        pair = self._basic_pair(request)
        if (
            pair is None
            or not pair[0].startswith("pk_")
            or not pair[1].startswith("sk_")
            or not self.credential_accepted(pair[1])
        ):
            return self.octy_error(401, AUTH_REJECTED, "authentication")
        return None

    @staticmethod
    def _basic_pair(request: Request) -> tuple[str, str] | None:
        scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "basic" or not token:
            return None
        try:
            decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        public, sep, secret = decoded.partition(":")
        return (public, secret) if sep else None

    def _rate_limited(self, client: str) -> Response | None:
        # Sliding one-minute window per client IP (providers/octy.md: 120/minute).
        now = time.monotonic()
        with self.lock:
            window = self.windows.get(client)
            if window is None:
                if len(self.windows) > 10_000:
                    self.windows.clear()
                window = self.windows[client] = deque()
            while window and window[0] <= now - 60:
                window.popleft()
            if len(window) >= self.rate_limit:
                wait = max(1, math.ceil(window[0] + 60 - now))
                self.hits["rate_limited"] += 1
            else:
                window.append(now)
                return None
        response = self.octy_error(
            429, "Too many requests: the fair usage limit was exceeded", "rate-limits"
        )
        response.headers["Retry-After"] = str(wait)
        return response

    # --- response shapes --------------------------------------------------------
    def octy_error(
        self,
        status: int,
        reason: str,
        area: str = "errors",
        errors: list[dict[str, Any]] | None = None,
    ) -> Response:
        if errors is None:
            errors = [{"error_message": reason, "extended_help": HELP + area}]
        body = {
            "request_meta": {
                "request_status": "Failure",
                "message": HTTP_STATUS_CODES.get(status, "Error"),
            },
            "error": {
                "code": str(status) if self.string_error_codes else status,
                "reason": reason,
                "errors": errors,
            },
        }
        return json_response(body, status=status)

    def refuse(self, status: int, reason: str, area: str = "errors", errors=None) -> Refused:
        return Refused(self.octy_error(status, reason, area, errors))

    def success(
        self,
        data: dict[str, Any],
        *,
        status: int = 200,
        message: str = "OK",
        count: int | None = None,
        total: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        if status == 201 and self._omit_result_lists():
            # A "Created" answer with no per-object list: the doc never promises one.
            data = {k: v for k, v in data.items() if k.startswith("failed_to_") and v}
        meta: dict[str, Any] = {"request_status": "Success", "message": message}
        if count is not None:
            meta["count"] = count
        if total is not None:
            meta["total"] = total
        return json_response({"request_meta": meta, **data}, status=status, headers=headers)

    def _omit_result_lists(self) -> bool:
        if self.result_lists == "always":
            return False
        if self.result_lists == "never":
            return True
        with self.lock:
            self._writes_answered += 1
            return self._writes_answered % 2 == 0

    def failure(self, key: str, entry: dict[str, Any], message: str) -> dict[str, Any]:
        """A partial-failure entry in the per-operation shape, or the doc's generic one."""
        if self.legacy_failure_shape:
            return {"identifier": entry.get(key), "error_message": message}
        return {**entry, "error_message": message}

    def all_failed(self, reason: str, failures: list[dict[str, Any]], area: str) -> Response:
        # providers/octy.md: when nothing succeeds the failures come back in error.errors
        errors = [{**f, "extended_help": HELP + area} for f in failures]
        return self.octy_error(400, reason, area, errors)

    # --- request bodies ---------------------------------------------------------
    def body_list(self, request: Request, key: str, limit: int = 500) -> list[Any]:
        try:
            body = json.loads(request.get_data() or b"null")
        except (ValueError, UnicodeDecodeError):
            raise self.refuse(400, "Malformed JSON in request body") from None
        if not isinstance(body, dict) or not isinstance(body.get(key), list):
            raise Refused(
                self.field_errors([(["body", key], "field required", "value_error.missing")])
            )
        values = body[key]
        if not values:
            raise self.refuse(400, f"At least one entry must be provided in '{key}'")
        if len(values) > limit:
            raise self.refuse(
                400, f"Too many entries in '{key}': at most {limit} per request", "errors"
            )
        return values

    def field_errors(self, problems: list[tuple[list[Any], str, str]]) -> Response:
        """A 422 with field-level entries (loc, msg, type)."""
        errors = [{"loc": loc, "msg": msg, "type": kind} for loc, msg, kind in problems]
        return self.octy_error(422, "Request validation failed", "errors", errors)

    def check_shapes(self, key: str, values: list[Any], spec: dict[str, tuple[type, bool]]) -> None:
        """Type-level validation of every object (a 422 for the whole request)."""
        problems: list[tuple[list[Any], str, str]] = []
        for i, value in enumerate(values):
            loc = ["body", key, i]
            if spec and not isinstance(value, dict):
                problems.append((loc, "value is not a valid dict", "type_error.dict"))
                continue
            if not spec:
                if not isinstance(value, str):
                    problems.append((loc, "str type expected", "type_error.str"))
                continue
            for name, (kind, required) in spec.items():
                if name not in value:
                    if required:
                        problems.append((loc + [name], "field required", "value_error.missing"))
                    continue
                item = value[name]
                wrong = not isinstance(item, kind) or (kind is int and isinstance(item, bool))
                if wrong:
                    label = TYPE_ERRORS[kind]
                    problems.append(
                        (loc + [name], f"value is not a valid {label}", f"type_error.{label}")
                    )
        if problems:
            raise Refused(self.field_errors(problems))

    def cursor_of(self, request: Request, size: int) -> int:
        """The position a listing starts at; the exhausted 400 past the end."""
        raw = request.headers.get("cursor")
        if raw is None:
            raise self.refuse(
                400, "A pagination cursor header is required when no ids are given", "pagination"
            )
        try:
            position = int(raw)
        except ValueError:
            raise self.refuse(400, "Invalid pagination cursor provided", "pagination") from None
        if position < 0:
            raise self.refuse(400, "Invalid pagination cursor provided", "pagination")
        if position >= size:
            # providers/octy.md: pagination — the end of data is a 400, not an empty list.
            raise self.refuse(400, EXHAUSTED, "pagination")
        return position

    def catalog_page(self, request: Request, key: str, records: list[dict[str, Any]]) -> Response:
        position = self.cursor_of(request, len(records))
        page = records[position : position + self.page_size]
        return self.success(
            {key: page},
            count=len(page),
            total=len(records),
            headers={"cursor": str(position + len(page))},
        )

    def hit(self, name: str) -> None:
        with self.lock:
            self.hits[name] += 1

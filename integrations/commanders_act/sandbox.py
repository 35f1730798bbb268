"""Emulator of the Commanders Act HTTP Tracking API, written from the source document
(source-docs/commanders-act-http-tracking-api.txt; providers/commanders-act.md).

What the document says, and so what this emulator does:
- ``POST /events`` and ``POST /events/batch`` (``{"batch": [...]}``), each with the
  required query parameters ``tc_s`` (site id) and ``token`` (source key).
- "The endpoint returns a 200 HTTP response to all API requests": a request without
  ``token`` (a v1 ``Authorization: Bearer`` header does not count), without ``tc_s``,
  with a rejected token or not declared ``application/json`` is answered 200 and its
  events are dropped, recorded as dropped (``GET /_sandbox/dropped``).
- "As an exception, a 400 HTTP code is returned in case the request is too large or
  the payload JSON is invalid": bare 400 above 32,000 bytes a request (``/events``),
  500,000 a batch request or 32,000 an event in a batch (KB read as 1,000 bytes).
- "Currently the batch endpoint is not publicly open ... closed beta": a batch for a
  source not in the beta is refused. How is not documented, so the refusal varies
  between 403 and 404 [guess]. The demo source is in the beta; others join with
  ``POST /_sandbox/batch_beta {"add": [...], "remove": [...]}``.

Because the real API gives no feedback, the emulator keeps its own record so tests
can check what arrived: ``GET /_sandbox/events`` (totals and the last events;
``?event_id=`` for one delivery count), ``DELETE /_sandbox/events`` clears it (and the
dropped record), ``/_sandbox/stats`` has the totals too. An injected ``malformed``
fault takes the request as usual and garbles the body of its 200.

``python -m integrations.commanders_act.sandbox [--port 8102]``

Past the ~400-line hint: every documented drop rule (token, tc_s, JSON, sizes,
the batch beta) is a guard here, in the document's order.
"""

from __future__ import annotations

import json
import re
from collections import Counter, OrderedDict, deque
from http import HTTPStatus
from itertools import cycle
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from integrations.sandbox import SandboxApp, json_response, run_cli

DEMO_SETTINGS: dict[str, str] = {"site_id": "1234", "batch_beta": "yes"}
DEMO_SECRETS: dict[str, str] = {"source_key": "NJtcKaoCYu7wQe2rTfLpX9sVbHmGZDxRgMBMUw=="}

# The document's limits, in its own words: "a maximum of 32KB per API request", "a
# maximum of 500KB per request, with a limit of 32KB per event in the batch". KB is
# not defined; 1,000 bytes is the reading under which no sender is surprised.
DOC_REQUEST_LIMIT_BYTES = 32_000
DOC_BATCH_LIMIT_BYTES = 500_000
DOC_BATCH_EVENT_LIMIT_BYTES = 32_000
# [guess] the doc never says how a batch outside the closed beta is answered.
NOT_IN_BETA_STATUSES = (403, 404)

RECENT_LIMIT = 1000
DROPPED_LIMIT = 1000
# Per-event_id delivery counts are kept for this many ids (oldest forgotten first)
# so a long-running demo stays bounded; 100,000-event benchmarks fit whole.
MAX_TRACKED_IDS = 250_000

# Why a request answered 200 delivered nothing.
NO_TOKEN = "no token query parameter"
NO_SITE = "no tc_s query parameter"
NOT_JSON = "Content-Type is not application/json"
REJECTED_TOKEN = "token not accepted"

# "requests" (every non-control request) comes from SandboxApp; "answered_requests"
# are those that got the API's 200, dropped ones included.
_TOTALS = (
    "answered_requests",
    "events",
    "batches",
    "dropped_requests",
    "rejected_token_requests",
    "no_token_requests",
    "dropped_events",
    "bearer_only_requests",
    "refused_requests",
    "batch_not_in_beta",
    "invalid_events",
    "v1_events",
    "duplicate_deliveries",
    "forgotten_event_ids",
)


class CommandersActSandbox(SandboxApp):
    provider = "commanders_act"

    def __init__(
        self,
        *,
        seed: int = 7,
        event_limit_bytes: int = DOC_REQUEST_LIMIT_BYTES,
        batch_limit_bytes: int = DOC_BATCH_LIMIT_BYTES,
        recent_limit: int = RECENT_LIMIT,
        max_tracked_ids: int = MAX_TRACKED_IDS,
        batch_beta_sources: tuple[str, ...] = (DEMO_SECRETS["source_key"],),
    ):
        super().__init__(seed=seed)
        # Limits are options so a test can make the emulator stricter than the client
        # and see how the client reports the bare 400.
        self.event_limit_bytes = event_limit_bytes
        self.batch_limit_bytes = batch_limit_bytes
        self.recent_limit = recent_limit
        self.max_tracked_ids = max_tracked_ids
        self.seeded_beta = frozenset(batch_beta_sources)
        self.batch_beta = set(self.seeded_beta)
        self._not_in_beta_status = cycle(NOT_IN_BETA_STATUSES)
        self._clear_records()

    def rules(self) -> list[Rule]:
        return [
            # providers/commanders-act.md: Version 2 and Batch.
            Rule("/events", endpoint="collect_event", methods=["POST"]),
            Rule("/events/batch", endpoint="collect_batch", methods=["POST"]),
        ]

    # --- the API ----------------------------------------------------------------------
    def collect_event(self, request: Request) -> Response:
        body = request.get_data(cache=False)
        # "a 400 HTTP code is returned in case the request is too large".
        if len(body) > self.event_limit_bytes:
            return self._refuse()
        try:
            event = json.loads(body)
        except ValueError:
            return self._refuse(b"Bad Request")
        self._record(request, [event], batch=False)
        return self._accepted()

    def collect_batch(self, request: Request) -> Response:
        # "Currently the batch endpoint is not publicly open": a source outside the
        # beta is refused before anything is read.
        token = request.args.get("token", "")
        if token and self.credential_accepted(token) and token not in self.batch_beta:
            with self.lock:
                self.totals["batch_not_in_beta"] += 1
                status = next(self._not_in_beta_status)
            return self._refuse(_reason(status).encode(), status=status)
        body = request.get_data(cache=False)
        # "a maximum of 500KB per batch request and 32KB per call".
        if len(body) > self.batch_limit_bytes:
            return self._refuse()
        try:
            events, oversize = _parse_batch(body, self.event_limit_bytes)
        except ValueError:
            return self._refuse(b"Bad Request")  # invalid JSON, or no "batch" list [guess]
        # A single oversize event refuses the whole request [guess]: the doc does not
        # say whether the rest would be kept.
        if oversize:
            return self._refuse()
        self._record(request, events, batch=True)
        return self._accepted()

    def _drop_reason(self, request: Request) -> str:
        """Why a request the API answers 200 delivers nothing ("" when it delivers)."""
        if not request.args.get("token"):
            return NO_TOKEN
        if not request.args.get("tc_s"):
            return NO_SITE
        if request.mimetype != "application/json":
            return NOT_JSON
        if not self.credential_accepted(request.args["token"]):
            return REJECTED_TOKEN
        return ""

    def _refuse(self, text: bytes = b"", status: int = 400) -> Response:
        with self.lock:
            self.totals["refused_requests"] += 1
        return Response(text, status=status, content_type="text/plain")

    @staticmethod
    def _accepted() -> Response:
        # The real API documents no body for its 200 [guess]: keep it empty.
        return Response(b"", status=200, content_type="text/plain")

    def credential_of(self, request: Request) -> str:
        # v2 authenticates with the token query parameter only.
        return request.args.get("token", "")

    def error_response(self, request: Request, status: int, message: str) -> Response:
        # The API's only errors are bare: a status and at most a short text.
        return Response(_reason(status), status=status, content_type="text/plain")

    def malformed_response(self, request: Request) -> Response:
        # The API's 200 carries nothing a client reads, so a broken body only means
        # something if the request was taken: handle it as usual, then garble the 200
        # (a 200 that silently dropped the events would be a loss no client can see).
        try:
            endpoint, args = self.url_map.bind_to_environ(request.environ).match()
        except HTTPException:
            return super().malformed_response(request)
        response = getattr(self, endpoint)(request, **args)
        if response.status_code != 200:
            return response
        return super().malformed_response(request)

    # --- the record -------------------------------------------------------------------
    def _record(self, request: Request, events: list[Any], *, batch: bool) -> None:
        reason = self._drop_reason(request)
        site_id = request.args.get("tc_s", "")
        with self.lock:
            totals = self.totals  # read under the lock: reset() replaces it
            totals["answered_requests"] += 1
            totals["batches"] += batch
            if reason:
                # The real API still says 200 and the events vanish.
                totals["dropped_requests"] += 1
                totals["dropped_events"] += len(events)
                totals["rejected_token_requests"] += reason == REJECTED_TOKEN
                totals["no_token_requests"] += reason == NO_TOKEN
                totals["bearer_only_requests"] += reason == NO_TOKEN and bool(
                    request.headers.get("Authorization")
                )
                self.dropped.append(
                    {
                        "reason": reason,
                        "path": request.path,
                        "site_id": site_id,
                        "events": len(events),
                        "event_ids": [i for i in map(_event_id_of, events) if i],
                    }
                )
                return
            totals["events"] += len(events)
            deliveries = self.deliveries
            for event in events:
                self.recent.append((site_id, event))
                context = event.get("context") if isinstance(event, dict) else None
                if not isinstance(context, dict):
                    totals["v1_events" if _is_v1(event) else "invalid_events"] += 1
                    continue
                if not (
                    isinstance(event.get("user"), dict)
                    and isinstance(event.get("event_name"), str)
                    and event["event_name"]
                ):
                    totals["invalid_events"] += 1
                event_id = context.get("event_id")
                if not isinstance(event_id, str):
                    continue
                seen = deliveries.get(event_id)
                if seen is not None:
                    deliveries[event_id] = seen + 1
                    totals["duplicate_deliveries"] += 1
                    continue
                deliveries[event_id] = 1
                if len(deliveries) > self.max_tracked_ids:
                    deliveries.popitem(last=False)
                    totals["forgotten_event_ids"] += 1

    def _clear_records(self) -> None:
        with self.lock:
            self.totals: Counter[str] = Counter(dict.fromkeys(_TOTALS, 0))
            self.deliveries: OrderedDict[str, int] = OrderedDict()
            self.recent: deque[tuple[str, Any]] = deque(maxlen=self.recent_limit)
            self.dropped: deque[dict[str, Any]] = deque(maxlen=DROPPED_LIMIT)

    def delivery_count(self, event_id: str) -> int:
        """How many times an event with this ``context.event_id`` arrived (valid key)."""
        with self.lock:
            return self.deliveries.get(event_id, 0)

    def recent_events(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The last events received with a valid key, oldest first."""
        with self.lock:
            recent = list(self.recent)
        if limit is not None:
            recent = recent[-limit:] if limit > 0 else []
        return [{"site_id": site_id, "event": event} for site_id, event in recent]

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": self.request_count,
                **self.totals,
                "tracked_event_ids": len(self.deliveries),
            }

    def dropped_requests(self) -> list[dict[str, Any]]:
        """Requests answered 200 whose events were dropped, oldest first, with why."""
        with self.lock:
            return list(self.dropped)

    def set_batch_beta(self, source_key: str, member: bool = True) -> None:
        """Put a source in the batch beta (or take it out)."""
        with self.lock:
            if member:
                self.batch_beta.add(source_key)
            else:
                self.batch_beta.discard(source_key)

    def reset(self) -> None:
        super().reset()
        with self.lock:
            self.request_count = 0
            self.batch_beta = set(self.seeded_beta)
            self._not_in_beta_status = cycle(NOT_IN_BETA_STATUSES)
        self._clear_records()

    # --- control ----------------------------------------------------------------------
    def control(self, request: Request) -> Response:
        if request.path == "/_sandbox/events":
            return self.control_events(request)
        if request.path == "/_sandbox/dropped":
            return json_response({"dropped": self.dropped_requests()})
        if request.path == "/_sandbox/batch_beta":
            return self.control_batch_beta(request)
        return super().control(request)

    def control_batch_beta(self, request: Request) -> Response:
        if request.method == "POST":
            try:
                body = json.loads(request.get_data() or b"{}")
                for key in body.get("add", []):
                    self.set_batch_beta(str(key))
                for key in body.get("remove", []):
                    self.set_batch_beta(str(key), member=False)
            except (ValueError, TypeError, AttributeError) as exc:
                return json_response({"error": str(exc)}, status=400)
        with self.lock:
            return json_response({"sources": sorted(self.batch_beta)})

    def control_events(self, request: Request) -> Response:
        if request.method == "DELETE":
            self._clear_records()
            return json_response({"cleared": True})
        event_id = request.args.get("event_id")
        if event_id is not None:
            return json_response(
                {"event_id": event_id, "deliveries": self.delivery_count(event_id)}
            )
        try:
            limit = int(request.args.get("limit", self.recent_limit))
        except ValueError:
            return json_response({"error": "limit must be a whole number"}, status=400)
        return json_response({**self.stats(), "recent": self.recent_events(limit)})


_BATCH_START = re.compile(r'\s*\{\s*"batch"\s*:\s*\[\s*')
_BATCH_SEPARATOR = re.compile(r"\s*,\s*")
_BATCH_END = re.compile(r"\s*\]\s*\}\s*")
_decoder = json.JSONDecoder()


def _parse_batch(body: bytes, event_limit: int) -> tuple[list[Any], bool]:
    """``(events, whether one is over event_limit bytes)``; ValueError if invalid."""
    text = body.decode("utf-8")
    # Only a body over the per-event limit can hold an oversize event; a smaller one
    # needs no measuring.
    big = len(body) > event_limit
    if big:
        scanned = _scan_batch(text, event_limit, ascii_only=len(text) == len(body))
        if scanned is not None:
            return scanned
    # Any other layout (extra keys, odd order, broken JSON): parse it whole and
    # measure each event by re-encoding it the way the client does.
    payload = json.loads(text)
    events = payload.get("batch") if isinstance(payload, dict) else None
    if not isinstance(events, list):
        raise ValueError("no batch list")
    return events, big and any(_encoded_size(event) > event_limit for event in events)


def _scan_batch(text: str, event_limit: int, *, ascii_only: bool) -> tuple[list, bool] | None:
    """The usual ``{"batch":[...]}`` body read event by event: each is parsed once
    and measured as sent, for free. None when the body is laid out otherwise."""
    match = _BATCH_START.match(text)
    if match is None:
        return None
    position = match.end()
    events: list[Any] = []
    oversize = False
    if not text.startswith("]", position):
        while True:
            try:
                event, end = _decoder.raw_decode(text, position)
            except ValueError:
                return None
            events.append(event)
            chars = end - position
            # UTF-8 takes 1 to 4 bytes a character: count bytes only when it matters.
            if chars > event_limit or (not ascii_only and chars * 4 > event_limit):
                oversize = oversize or len(text[position:end].encode("utf-8")) > event_limit
            separator = _BATCH_SEPARATOR.match(text, end)
            if separator is None:
                position = end
                break
            position = separator.end()
    if _BATCH_END.fullmatch(text, position) is None:
        return None
    return events, oversize


def _event_id_of(event: Any) -> str:
    context = event.get("context") if isinstance(event, dict) else None
    value = context.get("event_id") if isinstance(context, dict) else None
    return value if isinstance(value, str) else ""


def _is_v1(event: Any) -> bool:
    # The doc's v1 shape: no context; data in `properties`, metadata at the root.
    return (
        isinstance(event, dict)
        and "context" not in event
        and ("properties" in event or "event_id" in event or "page" in event)
    )


def _encoded_size(event: Any) -> int:
    return len(json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def create_app(seed: int = 7, **options: Any) -> CommandersActSandbox:
    return CommandersActSandbox(seed=seed, **options)


if __name__ == "__main__":
    run_cli(create_app, default_port=8102)

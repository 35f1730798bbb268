"""Emulator of the Commanders Act HTTP Tracking API (providers/commanders-act.md).

Like the real API it answers 200 to every request, a rejected or missing source key
included, and a bare 400 (empty or short text, never a structured error) when a
request is too large or its JSON is invalid (and, [guess], when tc_s is missing or
the Content-Type is not JSON). Because the real API gives no feedback,
the emulator keeps its own record so tests can check what arrived:
``GET /_sandbox/events`` (totals and the last events; ``?event_id=`` for one
delivery count), ``DELETE /_sandbox/events`` clears it, ``/_sandbox/stats`` has the
totals too. Events sent with a rejected key are counted, not recorded as delivered:
the real platform drops them silently. An injected ``malformed`` fault takes the
request as usual and garbles the body of its 200 (the client reads no body anyway).

``python -m integrations.commanders_act.sandbox [--port 8102]``
"""

from __future__ import annotations

import json
import re
from collections import Counter, OrderedDict, deque
from http import HTTPStatus
from typing import Any

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from integrations.commanders_act.payloads import BATCH_LIMIT_BYTES, EVENT_LIMIT_BYTES, is_v1
from integrations.sandbox import SandboxApp, json_response, run_cli

DEMO_SETTINGS: dict[str, str] = {"site_id": "1234"}
DEMO_SECRETS: dict[str, str] = {"source_key": "NJtcKaoCYu7wQe2rTfLpX9sVbHmGZDxRgMBMUw=="}

RECENT_LIMIT = 1000
# Per-event_id delivery counts are kept for this many ids (oldest forgotten first)
# so a long-running demo stays bounded; 100,000-event benchmarks fit whole.
MAX_TRACKED_IDS = 250_000

# "requests" (every non-control request) comes from SandboxApp; "answered_requests"
# are those that got the API's 200, rejected keys included.
_TOTALS = (
    "answered_requests",
    "events",
    "batches",
    "rejected_token_requests",
    "dropped_events",
    "token_in_query_requests",
    "refused_requests",
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
        event_limit_bytes: int = EVENT_LIMIT_BYTES,
        batch_limit_bytes: int = BATCH_LIMIT_BYTES,
        recent_limit: int = RECENT_LIMIT,
        max_tracked_ids: int = MAX_TRACKED_IDS,
    ):
        super().__init__(seed=seed)
        # Limits are options so a test can make the emulator stricter than the client
        # and see how the client reports the bare 400.
        self.event_limit_bytes = event_limit_bytes
        self.batch_limit_bytes = batch_limit_bytes
        self.recent_limit = recent_limit
        self.max_tracked_ids = max_tracked_ids
        self._clear_records()

    def rules(self) -> list[Rule]:
        return [
            # providers/commanders-act.md: Version 2 and Batch.
            Rule("/events", endpoint="collect_event", methods=["POST"]),
            Rule("/events/batch", endpoint="collect_batch", methods=["POST"]),
        ]

    # --- the API ----------------------------------------------------------------------
    def collect_event(self, request: Request) -> Response:
        refusal = self._check_request(request)
        if refusal is not None:
            return refusal
        body = request.get_data(cache=False)
        # providers/commanders-act.md: 400 when the request exceeds 32 KB.
        if len(body) > self.event_limit_bytes:
            return self._refuse()
        try:
            event = json.loads(body)
        except ValueError:
            return self._refuse(b"Bad Request")
        self._record(request, [event], batch=False)
        return self._accepted()

    def collect_batch(self, request: Request) -> Response:
        refusal = self._check_request(request)
        if refusal is not None:
            return refusal
        body = request.get_data(cache=False)
        # providers/commanders-act.md: Batch, 500 KB per request, 32 KB per event.
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

    def _check_request(self, request: Request) -> Response | None:
        # [guess] The doc calls tc_s required but never shows what happens without
        # it; a 400 is the only refusal the API is known to give.
        if not request.args.get("tc_s"):
            return self._refuse(b"Bad Request")
        # providers/commanders-act.md: "Content-Type: application/json required";
        # the answer to another type is a [guess].
        if request.mimetype != "application/json":
            return self._refuse(b"Bad Request")
        return None

    def _refuse(self, text: bytes = b"") -> Response:
        with self.lock:
            self.totals["refused_requests"] += 1
        return Response(text, status=400, content_type="text/plain")

    @staticmethod
    def _accepted() -> Response:
        # The real API documents no body for its 200 [guess]: keep it empty.
        return Response(b"", status=200, content_type="text/plain")

    def credential_of(self, request: Request) -> str:
        token = request.args.get("token")
        if token:
            return token
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        return value.strip() if scheme.lower() == "bearer" else ""

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
        credential = self.credential_of(request)
        accepted = self.credential_accepted(credential)
        site_id = request.args.get("tc_s", "")
        with self.lock:
            totals = self.totals  # read under the lock: reset() replaces it
            totals["answered_requests"] += 1
            totals["batches"] += batch
            totals["token_in_query_requests"] += bool(request.args.get("token"))
            if not accepted:
                # The real API still says 200 and the events vanish.
                totals["rejected_token_requests"] += 1
                totals["dropped_events"] += len(events)
                return
            totals["events"] += len(events)
            deliveries = self.deliveries
            for event in events:
                self.recent.append((site_id, event))
                context = event.get("context") if isinstance(event, dict) else None
                if not isinstance(context, dict):
                    totals["v1_events" if is_v1(event) else "invalid_events"] += 1
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

    def reset(self) -> None:
        super().reset()
        with self.lock:
            self.request_count = 0
        self._clear_records()

    # --- control ----------------------------------------------------------------------
    def control(self, request: Request) -> Response:
        if request.path == "/_sandbox/events":
            return self.control_events(request)
        return super().control(request)

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

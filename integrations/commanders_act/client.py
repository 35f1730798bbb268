"""Commanders Act HTTP Tracking API client (server-side event collection).

providers/commanders-act.md. Two calls: one event, or a batch of events. The API
answers 200 whether the event is usable or not, so a :class:`SendResult` means "the
request was taken", never "the event was valid": validation happens here, first.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from integrations.commanders_act import payloads, problems
from integrations.commanders_act.payloads import PayloadError
from integrations.http import ProviderResponse, ProviderSession, encode_json


@dataclass(frozen=True)
class SendResult:
    """What a 200 tells: the request was taken, with this many events in it."""

    status: int
    accepted: int
    event_ids: tuple[str, ...]
    request_bytes: int
    duration_ms: float


class CommandersActClient:
    """Sends v2 events for one source (``site_id`` + ``source_key``)."""

    def __init__(self, session: ProviderSession, *, site_id: str, source_key: str):
        self.session = session
        self.site_id = str(site_id)
        self._source_key = source_key

    def _headers(self) -> dict[str, str]:
        # providers/commanders-act.md: the key may travel as `token=` in the query or
        # as a Bearer header; the header keeps it out of URLs, proxies' logs included.
        return {
            "Authorization": f"Bearer {self._source_key}",
            "Content-Type": "application/json",
        }

    def send_event(self, event: dict[str, Any]) -> SendResult:
        """POST /events with one v2 event.

        Raises :class:`PayloadError` before sending (v1 shape, invalid field, over
        32 KB) and a ``ProviderError`` for a non-2xx answer (400: too large or
        invalid JSON; 401/403: AUTH; 429/5xx: retryable).
        """
        event = payloads.validate_event(event)
        body = encode_json(event)
        event_id = _event_id(event)
        # providers/commanders-act.md: Version 2, POST /events?tc_s=<site id>
        return self._post(
            "commanders_act.event",
            "events",
            body,
            event_ids=(event_id,) if event_id else (),
            count=1,
            context={"event_id": event_id} if event_id else None,
        )

    def send_batch(self, events: Sequence[dict[str, Any]]) -> SendResult:
        """POST /events/batch with ``{"batch": [...]}``.

        Every event is validated; an event over 32 KB or a body over 500 KB raises
        :class:`PayloadError` naming it, before anything is sent (use
        :func:`payloads.pack_batches` to split a long list). Errors as :meth:`send_event`.
        """
        if not events:
            raise PayloadError("batch", "is empty; there is nothing to send")
        cleaned = []
        for index, event in enumerate(events):
            try:
                cleaned.append(payloads.validate_event(event))
            except PayloadError as exc:
                raise PayloadError(f"batch[{index}].{exc.path}", exc.message) from None
        body = encode_json({"batch": cleaned})
        if len(body) > payloads.BATCH_LIMIT_BYTES:
            raise PayloadError(
                "batch",
                f"is {len(body)} bytes as JSON; Commanders Act refuses batches over "
                f"{payloads.BATCH_LIMIT_BYTES} bytes (500 KB): split it with pack_batches",
            )
        event_ids = tuple(i for i in map(_event_id, cleaned) if i)
        # providers/commanders-act.md: Batch, POST /events/batch?tc_s=<site id>
        return self._post(
            "commanders_act.batch",
            "events/batch",
            body,
            event_ids=event_ids,
            count=len(cleaned),
            context={"event_count": len(cleaned)},
        )

    def send_encoded(self, bodies: Sequence[bytes], event_ids: Sequence[str] = ()) -> SendResult:
        """Send events already validated and encoded (an outbox re-sends the exact bytes
        it stored): one body as ``POST /events``, several as one ``POST /events/batch``.

        The bodies are not validated again; only the request size is checked, and a
        :class:`PayloadError` is raised over the limit. Errors as :meth:`send_event`.
        """
        if not bodies:
            raise PayloadError("batch", "is empty; there is nothing to send")
        if len(bodies) == 1:
            body, operation, path = bodies[0], "commanders_act.event", "events"
            limit = payloads.EVENT_LIMIT_BYTES
        else:
            body = b'{"batch":[' + b",".join(bodies) + b"]}"
            operation, path, limit = (
                "commanders_act.batch",
                "events/batch",
                payloads.BATCH_LIMIT_BYTES,
            )
        if len(body) > limit:
            raise PayloadError("batch", f"is {len(body)} bytes; the limit is {limit} bytes")
        return self._post(
            operation,
            path,
            body,
            event_ids=tuple(event_ids),
            count=len(bodies),
            context={"event_count": len(bodies)},
        )

    def _post(
        self,
        operation: str,
        path: str,
        body: bytes,
        *,
        event_ids: tuple[str, ...],
        count: int,
        context: dict[str, Any] | None,
    ) -> SendResult:
        started = time.perf_counter()

        def parse(response: ProviderResponse) -> SendResult:
            # Any 2xx with any body is success: the API has nothing more to say.
            problems.raise_for(response, request_bytes=len(body))
            return SendResult(
                status=response.status,
                accepted=count,
                event_ids=event_ids,
                request_bytes=len(body),
                duration_ms=(time.perf_counter() - started) * 1000,
            )

        return self.session.call(
            operation,
            "POST",
            path,
            parse=parse,
            params=[("tc_s", self.site_id)],
            body=body,
            headers=self._headers(),
            context=context,
        )


def _event_id(event: dict[str, Any]) -> str:
    context = event.get("context")
    value = context.get("event_id") if isinstance(context, dict) else None
    return value if isinstance(value, str) else ""

"""Commanders Act HTTP Tracking API client (server-side event collection).

providers/commanders-act.md. Two calls: one event, or a batch of events (the batch
endpoint only for a source in Commanders Act's closed batch beta). The API answers
200 whether the event is usable or not, so a :class:`SendResult` means "accepted by
the collect endpoint", never "delivered" nor "valid": validation happens here, first,
and staff confirm delivery in Commanders Act's event inspector.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from integrations import errors
from integrations.commanders_act import payloads, problems
from integrations.commanders_act.payloads import PayloadError
from integrations.errors import Problem
from integrations.http import ProviderResponse, ProviderSession, encode_json

ACCEPTED = "accepted"
# What a page shows beside an accepted event (providers/commanders-act.md: Responses).
ACCEPTED_NOTE = (
    "Accepted by Commanders Act's collect endpoint. It answers 200 to every request, "
    "usable or not: confirm the event arrived in Commanders Act's event inspector."
)
NOT_IN_BATCH_BETA = (
    "This source is not marked as being in Commanders Act's batch beta (the batch "
    "endpoint is a closed beta), so each event must be sent as its own request to "
    '/events. Tick "this source is in the batch beta" on the account only once '
    "Commanders Act has let the source in."
)


@dataclass(frozen=True)
class SendResult:
    """What a 200 tells: the collect endpoint accepted the request, with this many
    events in it. ``outcome`` is always ``"accepted"``: never read it as delivered."""

    status: int
    accepted: int
    event_ids: tuple[str, ...]
    request_bytes: int
    duration_ms: float
    outcome: str = ACCEPTED
    note: str = ACCEPTED_NOTE


class CommandersActClient:
    """Sends v2 events for one source (``site_id`` + ``source_key``).

    ``batch_beta``: whether the source is in the closed batch beta; without it the
    batch endpoint is never called.
    """

    def __init__(
        self,
        session: ProviderSession,
        *,
        site_id: str,
        source_key: str,
        batch_beta: bool = False,
    ):
        self.session = session
        self.site_id = str(site_id)
        self._source_key = source_key
        self.batch_beta = batch_beta

    def _params(self) -> list[tuple[str, str]]:
        # providers/commanders-act.md: Version 2 — tc_s and token are both required
        # query parameters on every request. The Bearer header is the v1 scheme: a v2
        # request relying on it is dropped with a 200. The session redacts `token`
        # from every URL it records.
        return [("tc_s", self.site_id), ("token", self._source_key)]

    def _require_batch_beta(self) -> None:
        if not self.batch_beta:
            raise errors.ConfigurationError(
                Problem.build(
                    problems.PROVIDER,
                    errors.CONFIGURATION,
                    title="Source not in the batch beta",
                    detail=NOT_IN_BATCH_BETA,
                    retryable=False,
                )
            )

    def send_event(self, event: dict[str, Any]) -> SendResult:
        """POST /events with one v2 event.

        Raises :class:`PayloadError` before sending (v1 shape, invalid field, over
        32,000 bytes) and a ``ProviderError`` for a non-2xx answer (400: too large or
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

        Every event is validated; an event over 32,000 bytes or a body over 500,000
        raises :class:`PayloadError` naming it, before anything is sent (use
        :func:`payloads.pack_batches` to split a long list). Raises
        ``ConfigurationError`` when the source is not in the batch beta. Errors as
        :meth:`send_event`.
        """
        if not events:
            raise PayloadError("batch", "is empty; there is nothing to send")
        self._require_batch_beta()
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
                f"is {len(body):,} bytes as JSON; Commanders Act refuses batches over "
                f"{payloads.BATCH_LIMIT_BYTES:,} bytes (500 KB): split it with pack_batches",
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
        :class:`PayloadError` is raised over the limit. Several bodies for a source not
        in the batch beta raise ``ConfigurationError`` (pack with
        :func:`payloads.pack_encoded_requests`). Errors as :meth:`send_event`.
        """
        if not bodies:
            raise PayloadError("batch", "is empty; there is nothing to send")
        if len(bodies) > 1:
            self._require_batch_beta()
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
            raise PayloadError("batch", f"is {len(body):,} bytes; the limit is {limit:,} bytes")
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
            # Any 2xx with any body is "accepted": the API has nothing more to say.
            problems.raise_for(response, request_bytes=len(body), batch=path != "events")
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
            params=self._params(),
            body=body,
            headers={"Content-Type": "application/json"},
            context=context,
        )


def _event_id(event: dict[str, Any]) -> str:
    context = event.get("context")
    value = context.get("event_id") if isinstance(context, dict) else None
    return value if isinstance(value, str) else ""

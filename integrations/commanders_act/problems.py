"""Commanders Act failures as Problems.

providers/commanders-act.md: Responses. The API answers 200 to everything except a
request over 32 KB (read as 32,000 bytes) or with invalid JSON, which gets a bare 400
(empty or a short text, never a structured error). Anything else non-2xx comes from
something in front of the API (a gateway, an outage) and is mapped by status class;
on the batch endpoint a refusal may also mean the source is not in the closed beta
(the doc does not say how that is answered).
"""

from __future__ import annotations

from typing import Any

from integrations import errors
from integrations.errors import Problem, ProviderError
from integrations.http import ProviderResponse

PROVIDER = "commanders_act"

BAD_REQUEST_DETAIL = (
    "Commanders Act refused the request: it is over 32,000 bytes (500,000 for a batch, "
    "32,000 per event) or its JSON is invalid. The API says nothing more precise."
)
BATCH_BETA_HINT = (
    "The batch endpoint is a closed beta: if this source is not in it, untick "
    '"this source is in the batch beta" on the account so each event goes to /events.'
)


def problem_for(
    response: ProviderResponse, *, request_bytes: int = 0, batch: bool = False
) -> Problem:
    """The Problem for a non-2xx answer (``batch``: it answered the batch endpoint)."""
    status = response.status
    kind = errors.kind_for_status(status)
    if batch and status in (401, 403, 404):
        # The documented API never refuses a source this way; on the batch endpoint
        # the likeliest reason is a source outside the closed beta [guess].
        kind = errors.CONFIGURATION
    retry_after = errors.parse_retry_after(response.headers.get("Retry-After"))
    details: list[dict[str, Any]] = []
    if request_bytes:
        details.append({"request_bytes": request_bytes})
    if status == 400:
        detail = BAD_REQUEST_DETAIL + (f" {BATCH_BETA_HINT}" if batch else "")
    elif kind == errors.CONFIGURATION:
        detail = f"Commanders Act refused the batch request (HTTP {status}). {BATCH_BETA_HINT}"
    elif kind == errors.AUTH:
        # The documented API never says 401/403; tolerate it if a gateway does.
        detail = (
            f"Commanders Act refused the source key or site (HTTP {status}). "
            "Check the source key in the source's settings."
        )
    elif kind == errors.RATE_LIMITED:
        detail = (
            "Commanders Act asked to slow down. Above 500 requests per second it wants "
            "to be told in advance."
        )
    elif status >= 500:
        detail = f"Commanders Act is failing (HTTP {status}); the event can be sent again."
    else:
        detail = f"Commanders Act answered HTTP {status}, which its documentation never mentions."
    return Problem.build(
        PROVIDER,
        kind,
        status=status,
        detail=detail,
        # providers/commanders-act.md: treat 429/5xx as transient, whatever the kind.
        retryable=kind in errors.RETRYABLE_KINDS or status >= 500,
        retry_after=retry_after,
        raw_body=response.body,
        details=details,
    )


def raise_for(response: ProviderResponse, *, request_bytes: int = 0, batch: bool = False) -> None:
    """Raise the ProviderError for a non-2xx answer; return quietly on 2xx."""
    if 200 <= response.status < 300:
        return
    problem = problem_for(response, request_bytes=request_bytes, batch=batch)
    error: ProviderError = errors.error_for(problem)
    raise error

"""Croct answers -> Problem / ProviderError.

providers/croct.md: errors. Croct speaks Problem Details (RFC 7807/9457):
``{type, title, status, detail?, instance?}`` plus ``errors[]`` on CQL failures and
``violations[]`` on rejected events. The ``type`` URI documents the error, so it
becomes ``docs_url``. A 202 with ``X-Suspension-Reason`` is a suspension, not a
failure.
"""

from __future__ import annotations

from typing import Any

from integrations import errors
from integrations.errors import Problem
from integrations.http import ProviderResponse

PROVIDER = "croct"
TYPE_PREFIX = "https://croct.help/api/"
SUSPENSION_HEADER = "X-Suspension-Reason"

# Kinds for Croct statuses that errors.kind_for_status would read differently.
_STATUS_KINDS = {
    423: errors.QUOTA,  # monthly active users quota exceeded
    422: errors.INVALID_REQUEST,  # CQL that does not parse or evaluate
}


def problem_code(type_uri: str) -> str:
    """``authentication/unknown-api-key`` from the full type URI."""
    if type_uri.startswith(TYPE_PREFIX):
        return type_uri[len(TYPE_PREFIX) :]
    return type_uri


def kind_for(status: int, code: str) -> str:
    if code.startswith("authentication/"):
        return errors.AUTH
    if status in _STATUS_KINDS:
        return _STATUS_KINDS[status]
    return errors.kind_for_status(status)


def problem_from_response(response: ProviderResponse) -> Problem:
    """The Problem for a failed answer, whatever its body looks like.

    A body that is not Problem Details (a proxy's HTML 502, an empty 429) still gets
    the kind its status implies; the raw body is kept for the reader.
    """
    body = response.json_or_none()
    status = response.status
    retry_after = errors.parse_retry_after(response.headers.get("Retry-After"))
    if not isinstance(body, dict):
        return Problem.build(
            PROVIDER,
            kind_for(status, ""),
            status=status,
            detail=f"HTTP {status} without a Problem Details body",
            raw_body=response.text(),
            retry_after=retry_after,
        )
    type_uri = str(body.get("type") or "")
    code = problem_code(type_uri)
    fields: dict[str, Any] = {
        "status": status,
        "type_uri": type_uri,
        "provider_code": code,
        "detail": str(body.get("detail") or ""),
        "docs_url": type_uri if type_uri.startswith(("https://", "http://")) else "",
        "raw_body": response.text(),
        "retry_after": retry_after,
        "details": _details(body),
    }
    if body.get("title"):
        fields["title"] = str(body["title"])
    if not fields["detail"] and fields["details"]:
        first = fields["details"][0]
        fields["detail"] = str(first.get("cause") or first.get("reason") or "")
    return Problem.build(PROVIDER, kind_for(status, code), **fields)


def _details(body: dict[str, Any]) -> list[dict[str, Any]]:
    """CQL ``errors[{cause, location}]`` and event ``violations[{path, reason}]``."""
    details: list[dict[str, Any]] = []
    for name in ("errors", "violations"):
        entries = body.get(name)
        if isinstance(entries, list):
            details.extend(e for e in entries if isinstance(e, dict))
    return details


def suspension_problem(response: ProviderResponse) -> Problem:
    """providers/croct.md: 202 + X-Suspension-Reason — services suspended by the
    workspace. Not retryable: it lasts until someone lifts it."""
    reason = response.headers.get(SUSPENSION_HEADER) or "unspecified"
    return Problem.build(
        PROVIDER,
        errors.SUSPENDED,
        status=response.status,
        title="Workspace services suspended",
        detail=reason,
        provider_code=reason,
        retryable=False,
    )


def raise_for_answer(response: ProviderResponse, *, suspendable: bool = False) -> None:
    """Raise the matching ProviderError unless ``response`` is a plain success."""
    if suspendable and response.status == 202:
        raise errors.Suspended(suspension_problem(response))
    if not 200 <= response.status < 300:
        raise errors.error_for(problem_from_response(response))


def malformed(response: ProviderResponse, detail: str) -> errors.MalformedResponse:
    return errors.MalformedResponse(
        Problem.build(
            PROVIDER,
            errors.MALFORMED_RESPONSE,
            status=response.status,
            detail=detail,
            raw_body=response.text(),
        )
    )


def json_value(response: ProviderResponse) -> Any:
    """The JSON body of a success; MALFORMED_RESPONSE when empty or not JSON."""
    try:
        return response.json()
    except (ValueError, UnicodeDecodeError):
        raise malformed(response, "The answer is not JSON (empty or cut short).") from None


def json_object(response: ProviderResponse) -> dict[str, Any]:
    value = json_value(response)
    if not isinstance(value, dict):
        raise malformed(response, "Expected a JSON object.")
    return value

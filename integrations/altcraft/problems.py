"""Altcraft answers -> values or :class:`~integrations.errors.Problem`.

providers/altcraft.md: "Branch on the body's ``error`` code, not on the HTTP status"
— a 200 with ``{"error": 404, …}`` is a failure, and a non-200 with a readable body
is judged by its body as well. Only when there is no readable body does the HTTP
status decide.
"""

from __future__ import annotations

from typing import Any

from integrations import errors
from integrations.altcraft import xmlcodec
from integrations.errors import Problem
from integrations.http import ProviderResponse

PROVIDER = "altcraft"

# providers/altcraft.md: "Responses: errors live in the body". Altcraft publishes no
# per-code help page, so the code's meaning goes in the Problem's title.
CODES: dict[int, tuple[str, str]] = {
    400: (errors.INVALID_REQUEST, "Incorrect request"),
    401: (errors.AUTH, "API token required"),
    402: (errors.QUOTA, "Tariff limit reached"),
    403: (errors.AUTH, "No rights for this action"),
    404: (errors.NOT_FOUND, "The object is not found in the token's scope"),
    409: (errors.CONFLICT, "Another record with the same unique attributes already exists"),
    413: (errors.CONFIGURATION, "The database is not available in the selected resource"),
    415: (errors.INVALID_REQUEST, "Requested Content-Type is not supported"),
    435: (errors.AMBIGUOUS, "Ambiguous search: several objects have the given attributes"),
    441: (errors.AUTH, "The object belongs to another group"),
    450: (errors.INVALID_REQUEST, "Request validation error"),
    500: (errors.UNAVAILABLE, "Internal service error"),
    501: (errors.INVALID_REQUEST, "The method does not exist"),
}

AMBIGUOUS_ADVICE = (
    "Several profiles match. Narrow the match: look the profile up by profile_id, "
    "add resource_id, or match on another field (email_phone or a unique custom field)."
)
# Body keys that may carry how many objects matched a 435 [guess]: the doc shows none.
_CANDIDATE_KEYS = ("candidates", "count", "total", "matches")


def decode_body(response: ProviderResponse) -> dict[str, Any] | None:
    """The body as a dict (JSON or XML, sniffed), or None when it is neither."""
    body = response.body.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not body:
        return None
    content_type = response.headers.get("Content-Type", "").lower()
    if body[:1] == b"<" or ("xml" in content_type and body[:1] not in (b"{", b"[")):
        try:
            return xmlcodec.decode(body)
        except xmlcodec.XmlCodecError:
            return None
    value = response.json_or_none()
    return value if isinstance(value, dict) else None


def body_code(body: dict[str, Any]) -> int | None:
    """The body's ``error`` code as an int, or None when absent or not a number."""
    code = body.get("error")
    if isinstance(code, bool):
        return None
    if isinstance(code, int):
        return code
    if isinstance(code, str) and code.strip().lstrip("-").isdigit():
        return int(code.strip())
    return None


def check(response: ProviderResponse, *, matching: str = "") -> dict[str, Any]:
    """The decoded body of a successful answer (body ``error`` 0).

    Raises the :class:`~integrations.errors.ProviderError` for a body error code, an
    unreadable body, or an HTTP failure that came without a readable body.
    """
    body = decode_body(response)
    if body is None:
        raise errors.error_for(_unreadable(response))
    code = body_code(body)
    if code == 0:
        return body
    if code is None:
        if 200 <= response.status < 300:
            raise errors.error_for(
                _problem(
                    response,
                    errors.MALFORMED_RESPONSE,
                    detail="The answer has no numeric `error` code.",
                )
            )
        raise errors.error_for(_from_status(response))
    raise errors.error_for(problem_for_code(code, body, response, matching=matching))


def problem_for_code(
    code: int, body: dict[str, Any], response: ProviderResponse, *, matching: str = ""
) -> Problem:
    # A code the doc does not list has no meaning to give: the kind's words, and the
    # code in its own badge (a title "Altcraft error 429" only repeated the number).
    unknown_kind = _kind_for_unknown(code)
    kind, meaning = CODES.get(code, (unknown_kind, errors.KIND_LABELS[unknown_kind]))
    detail = str(body.get("error_text") or "")
    details: list[dict[str, Any]] = []
    if kind == errors.AMBIGUOUS:
        hint: dict[str, Any] = {"advice": AMBIGUOUS_ADVICE}
        if matching:
            hint["matching"] = matching
        for key in _CANDIDATE_KEYS:
            if isinstance(body.get(key), int) and not isinstance(body.get(key), bool):
                hint["candidates"] = body[key]
                break
        details.append(hint)
        detail = f"{detail} — {AMBIGUOUS_ADVICE}" if detail else AMBIGUOUS_ADVICE
    return _problem(
        response,
        kind,
        title=meaning,
        detail=detail,
        provider_code=str(code),
        details=details,
    )


def _kind_for_unknown(code: int) -> str:
    return errors.kind_for_status(code) if 100 <= code < 600 else errors.UNKNOWN


def _unreadable(response: ProviderResponse) -> Problem:
    if not 200 <= response.status < 300:
        return _from_status(response)
    what = "an empty body" if not response.body.strip() else "a body that is neither JSON nor XML"
    return _problem(response, errors.MALFORMED_RESPONSE, detail=f"Altcraft sent {what}.")


def _from_status(response: ProviderResponse) -> Problem:
    # No Altcraft body: a proxy, load balancer or an outage answered instead.
    return _problem(
        response,
        errors.kind_for_status(response.status),
        detail=f"HTTP {response.status} without an Altcraft error body.",
    )


def _problem(response: ProviderResponse, kind: str, **fields: Any) -> Problem:
    return Problem.build(
        PROVIDER,
        kind,
        status=response.status,
        retry_after=errors.parse_retry_after(response.headers.get("Retry-After")),
        raw_body=response.body,
        **fields,
    )

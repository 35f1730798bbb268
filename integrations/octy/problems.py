"""Octy's error bodies turned into :class:`Problem` (providers/octy.md: errors).

Octy answers ``{"request_meta": {...}, "error": {"code", "reason", "errors": [...]}}``
with ``code`` an int (backend) or a string (source doc): both are read. 422 bodies
carry field-level ``{"loc", "msg", "type"}`` entries instead of ``error_message``.
"""

from __future__ import annotations

from typing import Any

from integrations import errors
from integrations.errors import Problem
from integrations.http import ProviderResponse

PROVIDER = "octy"
EXHAUSTED_MARKER = "pagination cursor exhausted"
AUTH_REJECTED = "Invalid public_key or secret_key provided"
# providers/octy.md: auth — the doc answers an unauthenticated request 401, the
# backend a missing Authorization 400 [conflict]. Words that mark a 400 as that one.
_AUTH_WORDS = ("authoriz", "authentic", "credential", "public_key", "secret_key", "api key")
# providers/octy.md: errors — a 500 after a write is ambiguous: the write may have
# been applied, and Octy has no request dedup, so a resend could apply it twice.
HOLD_ADVICE = (
    "Octy failed (HTTP 500) after receiving this write, so it may or may not have been "
    "applied, and Octy does not deduplicate: check in Octy, then replay or discard it. "
    "It is not resent automatically."
)
AMBIGUOUS_TITLE = "Outcome unknown: check in Octy"

# Statuses whose request can never work as sent: retrying the same bytes is pointless.
# 501 is here because Octy means "Transfer-Encoding present", not "try later".
_PERMANENT_INVALID = frozenset({405, 411, 413, 415, 501})
# Identifier keys a failure entry may use, per operation or the doc's generic one.
IDENTIFIER_KEYS = (
    "identifier",
    "customer_id",
    "profile_id",
    "item_id",
    "event_type_id",
    "segment_id",
    "event_type",
)


def error_parts(body: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(``error`` object, its ``errors`` list) from an Octy body; empty when absent."""
    if not isinstance(body, dict):
        return {}, []
    error = body.get("error")
    error = error if isinstance(error, dict) else {}
    entries = error.get("errors")
    if not isinstance(entries, list):
        # A FastAPI-style 422 puts field errors in a top-level "detail" list.
        entries = body.get("detail") if isinstance(body.get("detail"), list) else []
    return error, [e for e in entries if isinstance(e, dict)]


def identifier_of(entry: dict[str, Any]) -> str | None:
    """The object a failure entry is about, whichever shape it came in [conflict]."""
    for key in IDENTIFIER_KEYS:
        value = entry.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
            return str(value)
    return None


def is_cursor_exhausted(response: ProviderResponse) -> bool:
    """Octy's end-of-data signal: a 400 saying the cursor is exhausted (pagination)."""
    if response.status != 400:
        return False
    error, entries = error_parts(response.json_or_none())
    texts = [str(error.get("reason") or "")]
    texts += [str(e.get("error_message") or "") for e in entries]
    return any(EXHAUSTED_MARKER in t.lower() for t in texts)


def _clean_url(value: Any) -> str:
    # The source doc prints links as <https://...>; keep only the URL.
    text = str(value or "").strip().strip("<>").strip()
    return text if text.startswith(("http://", "https://")) else ""


def _detail_entry(entry: dict[str, Any]) -> dict[str, Any]:
    if "loc" in entry or "msg" in entry:
        loc = entry.get("loc") or ()
        loc = loc if isinstance(loc, list | tuple) else [loc]
        return {
            "field": ".".join(str(p) for p in loc),
            "message": str(entry.get("msg") or ""),
            "type": str(entry.get("type") or ""),
        }
    detail = {k: v for k, v in entry.items() if k not in ("error_message", "extended_help")}
    detail["identifier"] = identifier_of(entry)
    detail["error_message"] = str(entry.get("error_message") or "")
    if entry.get("extended_help"):
        detail["extended_help"] = _clean_url(entry["extended_help"]) or entry["extended_help"]
    return detail


def kind_for(status: int, text: str) -> str:
    lowered = text.lower()
    if status == 400 and any(word in lowered for word in _AUTH_WORDS):
        # providers/octy.md: auth — a missing Authorization header is a 400.
        return errors.AUTH
    if status in _PERMANENT_INVALID or status == 422:
        return errors.INVALID_REQUEST
    if status in (500, 503):
        return errors.UNAVAILABLE
    return errors.kind_for_status(status)


def is_held_for_person(problem: Problem) -> bool:
    """Whether ``problem`` is an ambiguous write a person must settle (never resend)."""
    return any(isinstance(d, dict) and d.get("hold_for_person") for d in problem.details)


def problem_from_response(response: ProviderResponse, *, write: bool = False) -> Problem:
    """The Problem for a non-2xx Octy answer (or a 2xx whose body is unreadable).

    ``write``: the request was a POST that changes data; a 500 to it is ambiguous
    (kind ``ambiguous``, not retryable, details carry ``hold_for_person``). A 503 or
    429 means not processed and stays retryable either way.
    """
    status = response.status
    body = response.json_or_none()
    raw = response.text()
    if status < 400:
        return Problem.build(
            PROVIDER,
            errors.MALFORMED_RESPONSE,
            status=status,
            detail="The answer was not the JSON object Octy documents.",
            raw_body=raw,
        )
    error, entries = error_parts(body)
    reason = str(error.get("reason") or "")
    messages = [str(e.get("error_message") or e.get("msg") or "") for e in entries]
    if not reason and isinstance(body, dict):
        meta = body.get("request_meta")
        reason = str(meta.get("message") or "") if isinstance(meta, dict) else ""
    detail = reason
    first = next((m for m in messages if m), "")
    if first and first != reason:
        detail = f"{reason}: {first}" if reason else first
    if body is None:
        # An unreadable error body (proxy page, empty 502) still has a meaningful
        # status; the status decides the kind so retries and auth prompts work.
        detail = "The error answer was not JSON." if raw.strip() else "The error answer was empty."
    kind = kind_for(status, f"{reason} {' '.join(messages)}")
    fields: dict[str, Any] = {
        "status": status,
        "detail": detail,
        "provider_code": error.get("code", status) if error else status,
        "docs_url": next(
            (u for u in (_clean_url(e.get("extended_help")) for e in entries) if u), ""
        ),
        "raw_body": raw,
        "details": [_detail_entry(e) for e in entries],
    }
    if status in _PERMANENT_INVALID:
        fields["retryable"] = False
    if write and status == 500:
        kind = errors.AMBIGUOUS
        fields["title"] = AMBIGUOUS_TITLE
        fields["retryable"] = False
        fields["detail"] = f"{HOLD_ADVICE} ({detail})" if detail else HOLD_ADVICE
        fields["details"] = [{"hold_for_person": True, "advice": HOLD_ADVICE}, *fields["details"]]
    if kind == errors.RATE_LIMITED:
        fields["retry_after"] = errors.parse_retry_after(response.headers.get("Retry-After"))
    return Problem.build(PROVIDER, kind, **fields)


def raise_for(response: ProviderResponse) -> None:
    """Raise the ProviderError for ``response`` (never returns)."""
    raise errors.error_for(problem_from_response(response))

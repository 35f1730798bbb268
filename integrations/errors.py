"""The normalized error every provider failure is turned into.

Each provider answers failures in its own format (Croct's Problem Details, Octy's
``error{code, reason, errors[]}``, Altcraft's body ``error`` codes, Commanders Act's
bare 400). Clients map them into one :class:`Problem` and raise the matching
:class:`ProviderError` subclass, so callers only ever branch on ``kind`` and
``retryable``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

# Problem kinds. The string values are stored in the database (ApiCall.problem_kind),
# so they must not change once released.
UNAVAILABLE = "unavailable"
TIMEOUT = "timeout"
TRANSPORT = "transport"
RATE_LIMITED = "rate_limited"
AUTH = "auth"
NOT_FOUND = "not_found"
CONFLICT = "conflict"
INVALID_REQUEST = "invalid_request"
QUOTA = "quota"
SUSPENDED = "suspended"
AMBIGUOUS = "ambiguous"
CONFIGURATION = "configuration"
MALFORMED_RESPONSE = "malformed_response"
UNKNOWN = "unknown"

KIND_LABELS = {
    UNAVAILABLE: "Provider unavailable",
    TIMEOUT: "Timed out",
    TRANSPORT: "Connection failed",
    RATE_LIMITED: "Rate limited",
    AUTH: "Authentication failed",
    NOT_FOUND: "Not found",
    CONFLICT: "Conflict",
    INVALID_REQUEST: "Invalid request",
    QUOTA: "Quota exceeded",
    SUSPENDED: "Suspended",
    AMBIGUOUS: "Ambiguous match",
    CONFIGURATION: "Configuration problem",
    MALFORMED_RESPONSE: "Unreadable response",
    UNKNOWN: "Unexpected answer",
}

RETRYABLE_KINDS = frozenset({UNAVAILABLE, TIMEOUT, TRANSPORT, RATE_LIMITED, MALFORMED_RESPONSE})

RAW_BODY_LIMIT = 4096


@dataclass(frozen=True)
class Problem:
    """One provider failure, whatever format the provider used to say it.

    ``details`` keeps the structured parts a page may want to lay out: CQL error
    locations, Croct ``violations``, Octy field errors, partial-failure entries.
    """

    provider: str
    kind: str
    title: str
    status: int | None = None
    type_uri: str = ""
    detail: str = ""
    provider_code: str = ""
    retryable: bool = False
    docs_url: str = ""
    retry_after: float | None = None
    raw_body: str = ""
    details: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    @classmethod
    def build(cls, provider: str, kind: str, **fields: Any) -> Problem:
        """A Problem whose ``retryable`` and ``title`` default from its kind."""
        fields.setdefault("retryable", kind in RETRYABLE_KINDS)
        fields.setdefault("title", KIND_LABELS.get(kind, KIND_LABELS[UNKNOWN]))
        raw = fields.get("raw_body") or ""
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", errors="replace")
        fields["raw_body"] = raw[:RAW_BODY_LIMIT]
        fields["details"] = tuple(fields.get("details") or ())
        if fields.get("status") is not None:
            fields["status"] = int(fields["status"])
        fields["provider_code"] = str(fields.get("provider_code") or "")
        return cls(provider=provider, kind=kind, **fields)

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, KIND_LABELS[UNKNOWN])

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["details"] = list(self.details)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Problem:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["details"] = tuple(values.get("details") or ())
        return cls(**values)

    def __str__(self) -> str:
        parts = [self.title]
        if self.status:
            parts.append(f"(HTTP {self.status})")
        if self.detail:
            parts.append(f"— {self.detail}")
        return " ".join(parts)


@dataclass(frozen=True)
class Heading:
    """What a page prints before a problem's detail: a title, the HTTP status and the
    provider's own code, each said once."""

    title: str
    status: int | None
    code: str


def heading(*, title: str, kind: str, status: int | None, code: str) -> Heading:
    """The heading of a problem (or an error group) without repeats.

    A provider code equal to the HTTP status ("429" beside "HTTP 429") says nothing
    new, and a title that only names a number shown beside it ("Altcraft error 429")
    is replaced by the kind's words: #16 defect 9 read "Altcraft error 429 HTTP 429 429".
    """
    code = str(code or "")
    status = int(status) if status not in (None, "") else None
    if code and status is not None and code == str(status):
        code = ""
    numbers = {str(n) for n in (status, code) if n not in (None, "")}
    words = str(title or "").split()
    if not words or any(number in words for number in numbers):
        title = KIND_LABELS.get(kind, KIND_LABELS[UNKNOWN])
    return Heading(title=title, status=status, code=code)


class ProviderError(Exception):
    """A provider call failed; ``problem`` says how."""

    kind = UNKNOWN

    def __init__(self, problem: Problem):
        super().__init__(str(problem))
        self.problem = problem

    @property
    def retryable(self) -> bool:
        return self.problem.retryable

    @property
    def retry_after(self) -> float | None:
        return self.problem.retry_after


class ProviderUnavailable(ProviderError):
    kind = UNAVAILABLE


class ProviderTimeout(ProviderUnavailable):
    kind = TIMEOUT


class TransportError(ProviderUnavailable):
    kind = TRANSPORT


class RateLimited(ProviderError):
    kind = RATE_LIMITED


class AuthError(ProviderError):
    kind = AUTH


class NotFound(ProviderError):
    kind = NOT_FOUND


class Conflict(ProviderError):
    kind = CONFLICT


class InvalidRequest(ProviderError):
    kind = INVALID_REQUEST


class QuotaExceeded(ProviderError):
    kind = QUOTA


class Suspended(ProviderError):
    kind = SUSPENDED


class AmbiguousMatch(ProviderError):
    kind = AMBIGUOUS


class ConfigurationError(ProviderError):
    kind = CONFIGURATION


class MalformedResponse(ProviderError):
    kind = MALFORMED_RESPONSE


_ERROR_CLASSES: dict[str, type[ProviderError]] = {
    cls.kind: cls
    for cls in (
        ProviderUnavailable,
        ProviderTimeout,
        TransportError,
        RateLimited,
        AuthError,
        NotFound,
        Conflict,
        InvalidRequest,
        QuotaExceeded,
        Suspended,
        AmbiguousMatch,
        ConfigurationError,
        MalformedResponse,
    )
}


def quoted(value: object, limit: int = 60) -> str:
    """A refused value as an error message quotes it: its start when it is long, so a
    100,000-character paste is recognisable without stretching the page it is shown on."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) > limit:
        text = text[:limit] + "…"
    return repr(text) if isinstance(value, str) else text


class PayloadError(ValueError):
    """A request value the provider would refuse, caught before anything is sent.

    Every provider's own ``PayloadError`` subclasses this one, so the console catches
    one type (never a bare ``ValueError``). ``field`` names the offending field (a
    dotted path where the provider has nested bodies); ``message`` is the sentence for
    the person who typed it.
    """

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}" if field else message)
        # Providers with nested bodies call it a path; both names are kept.
        self.field = self.path = field
        self.message = message


def error_for(problem: Problem) -> ProviderError:
    """The ProviderError subclass instance that carries ``problem``."""
    return _ERROR_CLASSES.get(problem.kind, ProviderError)(problem)


def kind_for_status(status: int) -> str:
    """The default kind for an HTTP status, for providers that say nothing more."""
    if status == 429:
        return RATE_LIMITED
    if status in (401, 403):
        return AUTH
    if status == 404:
        return NOT_FOUND
    if status == 409:
        return CONFLICT
    if status in (408, 504):
        return TIMEOUT
    if status >= 500:
        return UNAVAILABLE
    if 400 <= status < 500:
        return INVALID_REQUEST
    return UNKNOWN


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from datetime import UTC, datetime
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())

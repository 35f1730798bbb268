"""The one HTTP path every provider call takes.

A :class:`ProviderSession` sends a request with timeouts always set, reads a bounded
amount of the answer within a total deadline, lets the provider client interpret it,
and hands an :class:`Exchange` (secrets redacted) to a hook, success or failure.
The dashboard's hook records it as an ApiCall; nothing here knows about Django.

Deliberately absent: automatic retries (a retried POST could duplicate a write; the
caller's task decides) and sleeping on ``Retry-After`` (the task reschedules instead
of holding a worker).

Past the ~400-line hint on purpose: sending, bounded reading, redaction and the
exchange hook are one path every provider call takes, kept in one module to read.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import requests
from requests.structures import CaseInsensitiveDict
from urllib3 import exceptions as urllib3_errors

from integrations import depth, errors
from integrations.errors import Problem, ProviderError
from integrations.netguard import GuardedAdapter
from integrations.redaction import EncodedSecrets
from integrations.transport_words import transport_sentence

logger = logging.getLogger(__name__)

T = TypeVar("T")

REDACTED = "[REDACTED]"
# Header values that carry credentials; the auth scheme word is kept so a reader can
# still tell Basic from Bearer.
SECRET_HEADERS = frozenset({"x-api-key", "authorization", "proxy-authorization", "cookie"})
SECRET_QUERY_PARAMS = frozenset({"token", "api_key", "apikey", "key", "secret", "secret_key"})
SECRET_BODY_FIELDS = frozenset(
    {"token", "api_key", "apikey", "secret_key", "password", "previewtoken", "preview_token"}
)
_XML_SECRET = re.compile(r"<(token|api_key|secret_key|password)>[^<]*</\1>", re.IGNORECASE)

DEFAULT_CONNECT_TIMEOUT = 3.05
DEFAULT_READ_TIMEOUT = 10.0
DEFAULT_TOTAL_TIMEOUT = 30.0
# Anything larger than this is not an answer the console can use; reading stops there
# so a misbehaving provider cannot exhaust a worker's memory.
DEFAULT_MAX_RESPONSE_BYTES = 5 * 1024 * 1024
# What the call log keeps of each body.
RECORDED_BODY_LIMIT = 64 * 1024
_CHUNK = 64 * 1024


@dataclass
class ProviderResponse:
    """What came back, as bytes, before any provider-specific interpretation."""

    status: int
    headers: CaseInsensitiveDict
    body: bytes
    truncated: bool = False

    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body as JSON; raises ``ValueError`` when it is not JSON or is nested
        past :data:`integrations.depth.MAX_DEPTH` (``depth.TooDeep``)."""
        if not self.body.strip():
            raise ValueError("empty body")
        return depth.loads(self.body.decode("utf-8"))

    def json_or_none(self) -> Any:
        try:
            return self.json()
        except (ValueError, UnicodeDecodeError):
            return None


@dataclass
class Exchange:
    """One request and its answer, as the call log records it (secrets redacted)."""

    provider: str
    operation: str
    method: str
    url: str
    request_headers: dict[str, str]
    request_body: str
    started_at: datetime
    duration_ms: float = 0.0
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str = ""
    request_bytes: int = 0
    response_bytes: int = 0
    response_truncated: bool = False
    problem: Problem | None = None
    context: dict[str, Any] = field(default_factory=dict)
    # This exchange's own id, made before the request goes out: what a caller keeps to
    # find the recorded call later without waiting for the call log to be written.
    exchange_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def outcome(self) -> str:
        if self.problem is None:
            return "ok"
        if self.problem.kind == errors.SUSPENDED:
            return "suspended"
        return "failed"


ExchangeHook = Callable[[Exchange], None]

# Connections each pooled session keeps open (keep-alive) per host: also the most
# requests one account may have in flight at once (events pacing, #17), since a
# request beyond it would open a connection only to throw it away.
POOL_MAXSIZE = 16

_pool_lock = threading.Lock()
_pools: dict[str, requests.Session] = {}


def pooled_http(key: str) -> requests.Session:
    """A process-wide ``requests.Session`` for ``key`` (one per account).

    Connection pooling is the point: the TLS handshake is paid once per worker, not
    once per call. ``max_retries=0`` keeps urllib3 from silently re-sending POSTs.
    """
    with _pool_lock:
        session = _pools.get(key)
        if session is None:
            session = requests.Session()
            # Proxy variables and .netrc must not leak credentials or reroute calls.
            session.trust_env = False
            # Every connection checks the address it reached (integrations/netguard.py).
            adapter = GuardedAdapter(pool_connections=4, pool_maxsize=POOL_MAXSIZE, max_retries=0)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            _pools[key] = session
        return session


def close_pools() -> None:
    with _pool_lock:
        for session in _pools.values():
            session.close()
        _pools.clear()


class Redactor:
    """Removes secrets from everything an Exchange records."""

    def __init__(self, secrets: Iterable[str]):
        values: set[str] = set()
        for secret in secrets:
            if not secret or len(secret) < 4:
                continue
            values.add(secret)
            values.add(quote(secret, safe=""))
        # Longest first so a secret containing another is removed whole.
        self._values = sorted(values, key=len, reverse=True)
        # Uppercased, base64, \/-escaped, partly percent-encoded echoes (#15 item 10).
        self._encoded = EncodedSecrets(values)

    def text(self, value: str) -> str:
        for secret in self._values:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return self._encoded.redact(value, REDACTED)

    def structure(self, value: Any) -> str:
        """A JSON-able value as recorded text, secret fields and values redacted."""
        text = json.dumps(_redact_fields(value), ensure_ascii=False)
        return self.text(text)[:RECORDED_BODY_LIMIT]

    def problem(self, problem: Problem) -> Problem:
        """``problem`` with every text field (and its structured details) redacted."""
        return dataclasses.replace(
            problem,
            title=self.text(problem.title),
            detail=self.text(problem.detail),
            type_uri=self.text(problem.type_uri),
            docs_url=self.text(problem.docs_url),
            provider_code=self.text(problem.provider_code),
            raw_body=self.body(problem.raw_body),
            details=tuple(self._deep(d) for d in problem.details),
        )

    def _deep(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self._deep(v) for k, v in _redact_fields(value).items()}
        if isinstance(value, list | tuple):
            return [self._deep(v) for v in value]
        return value

    def url(self, url: str) -> str:
        parts = urlsplit(url)
        if parts.query:
            query = [
                (k, REDACTED if k.lower() in SECRET_QUERY_PARAMS else v)
                for k, v in parse_qsl(parts.query, keep_blank_values=True)
            ]
            parts = parts._replace(query=urlencode(query, safe="[]"))
        if parts.password or parts.username:
            parts = parts._replace(netloc=parts.hostname + (f":{parts.port}" if parts.port else ""))
        return self.text(urlunsplit(parts))

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        clean = {}
        for name, value in headers.items():
            value = str(value)
            if name.lower() in SECRET_HEADERS:
                scheme, _, rest = value.partition(" ")
                value = f"{scheme} {REDACTED}" if rest else REDACTED
            clean[name] = self.text(value)
        return clean

    def body(self, body: bytes | str | None, content_type: str = "") -> str:
        if not body:
            return ""
        text = body.decode("utf-8", errors="replace") if isinstance(body, bytes) else body
        text = text[: RECORDED_BODY_LIMIT * 2]
        stripped = text.lstrip()
        if stripped[:1] in "{[":
            # Too deep to decode safely: the plain-text redaction below still applies.
            with contextlib.suppress(ValueError):
                text = json.dumps(_redact_fields(depth.loads(text)), ensure_ascii=False)
        elif stripped.startswith("<"):
            text = _XML_SECRET.sub(lambda m: f"<{m.group(1)}>{REDACTED}</{m.group(1)}>", text)
        elif "x-www-form-urlencoded" in content_type:
            text = urlencode(
                [
                    (k, REDACTED if k.lower() in SECRET_BODY_FIELDS else v)
                    for k, v in parse_qsl(text, keep_blank_values=True)
                ]
            )
        return self.text(text)[:RECORDED_BODY_LIMIT]


def _redact_fields(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: (REDACTED if str(k).lower() in SECRET_BODY_FIELDS else _redact_fields(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_redact_fields(v) for v in value]
    return value


def encode_json(payload: Any) -> bytes:
    """Deterministic JSON bytes: a retry of the same logical request sends the same bytes
    (Altcraft deduplicates on identical data)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class ProviderSession:
    """HTTP for one account: base URL, timeouts, pooled connections, recording.

    Clients call :meth:`call` with a ``parse`` function that turns the raw
    :class:`ProviderResponse` into a value or raises :class:`ProviderError`.
    """

    def __init__(
        self,
        *,
        provider: str,
        base_url: str,
        secrets: Iterable[str] = (),
        hook: ExchangeHook | None = None,
        http: requests.Session | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        total_timeout: float = DEFAULT_TOTAL_TIMEOUT,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        default_headers: Mapping[str, str] | None = None,
        context: Mapping[str, Any] | None = None,
    ):
        self.provider = provider
        self.base_url = base_url.rstrip("/")
        self.redactor = Redactor(secrets)
        self.hook = hook
        self.http = http or pooled_http(f"{provider}:{self.base_url}")
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.total_timeout = total_timeout
        self.max_response_bytes = max_response_bytes
        self.default_headers = dict(default_headers or {})
        # Free-form facts the hook may want (correlation id, task id, subject ids).
        self.context = dict(context or {})

    def url_for(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        parse: Callable[[ProviderResponse], T],
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        json_body: Any = None,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> T:
        """Send one request and return ``parse(response)``.

        Raises the :class:`ProviderError` that ``parse`` raised, or a transport one
        (timeout, connection failure, oversized or broken body). The hook sees the
        exchange either way.
        """
        request_headers = {**self.default_headers, **(headers or {})}
        if json_body is not None:
            body = encode_json(json_body)
            request_headers.setdefault("Content-Type", "application/json")
        url = self.url_for(path)
        if params:
            query = urlencode(list(params.items()) if isinstance(params, Mapping) else params)
            url = f"{url}?{query}" if query else url
        exchange = Exchange(
            provider=self.provider,
            operation=operation,
            method=method.upper(),
            url=self.redactor.url(url),
            request_headers=self.redactor.headers(request_headers),
            # A JSON body is redacted from the structure in hand, not decoded again.
            request_body=(
                self.redactor.structure(json_body)
                if json_body is not None
                else self.redactor.body(body, request_headers.get("Content-Type", ""))
            ),
            request_bytes=len(body or b""),
            started_at=datetime.now(UTC),
            context={**self.context, **(context or {})},
        )
        started = time.perf_counter()
        try:
            response = self._send(method, url, request_headers, body, started)
            exchange.status = response.status
            exchange.response_headers = self.redactor.headers(dict(response.headers))
            exchange.response_body = self.redactor.body(
                response.body, response.headers.get("Content-Type", "")
            )
            exchange.response_bytes = len(response.body)
            exchange.response_truncated = response.truncated
            if response.truncated:
                raise errors.MalformedResponse(
                    Problem.build(
                        self.provider,
                        errors.MALFORMED_RESPONSE,
                        status=response.status,
                        title="Response too large",
                        detail=f"The answer exceeded {self.max_response_bytes} bytes and was cut.",
                        retryable=False,
                    )
                )
            return parse(response)
        except ProviderError as exc:
            # Providers sometimes quote the request back in their error text.
            exc.problem = self.redactor.problem(exc.problem)
            exc.args = (str(exc.problem),)
            exchange.problem = exc.problem
            raise
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as exc:
            # A parser tripping over an answer it did not expect is the provider's
            # malformed body, not a console crash.
            problem = self.redactor.problem(
                Problem.build(
                    self.provider,
                    errors.MALFORMED_RESPONSE,
                    status=exchange.status,
                    detail=f"Could not read the answer: {exc}",
                    raw_body=exchange.response_body,
                )
            )
            exchange.problem = problem
            raise errors.MalformedResponse(problem) from exc
        finally:
            exchange.duration_ms = (time.perf_counter() - started) * 1000
            self._hand_over(exchange)

    def _send(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None, started: float
    ) -> ProviderResponse:
        deadline = started + self.total_timeout
        try:
            raw = self.http.request(
                method,
                url,
                data=body,
                headers=headers,
                timeout=(self.connect_timeout, self.read_timeout),
                stream=True,
                allow_redirects=False,
            )
        except requests.Timeout as exc:
            raise errors.ProviderTimeout(self._transport_problem(errors.TIMEOUT, exc)) from exc
        except requests.RequestException as exc:
            raise errors.TransportError(self._transport_problem(errors.TRANSPORT, exc)) from exc
        try:
            chunks: list[bytes] = []
            size = 0
            truncated = False
            # read1 returns whatever has arrived, so a provider trickling one byte at a
            # time (each read inside the read timeout) still meets the total deadline;
            # iter_content would wait for a full chunk before looking at the clock.
            while chunk := raw.raw.read1(_CHUNK, decode_content=True):
                chunks.append(chunk)
                size += len(chunk)
                if size > self.max_response_bytes:
                    truncated = True
                    break
                if time.perf_counter() > deadline:
                    raise errors.ProviderTimeout(
                        Problem.build(
                            self.provider,
                            errors.TIMEOUT,
                            status=raw.status_code,
                            detail=f"The answer did not finish within {self.total_timeout:g}s.",
                        )
                    )
            content = b"".join(chunks)
            if truncated:
                content = content[: self.max_response_bytes]
        except (requests.Timeout, urllib3_errors.TimeoutError) as exc:
            raise errors.ProviderTimeout(self._transport_problem(errors.TIMEOUT, exc)) from exc
        except (requests.RequestException, urllib3_errors.HTTPError, OSError) as exc:
            # The body broke off mid-way (short read, reset) or could not be decoded.
            raise errors.MalformedResponse(
                self._transport_problem(errors.MALFORMED_RESPONSE, exc, status=raw.status_code)
            ) from exc
        finally:
            raw.close()
        return ProviderResponse(
            status=raw.status_code, headers=raw.headers, body=content, truncated=truncated
        )

    def _transport_problem(self, kind: str, exc: Exception, status: int | None = None) -> Problem:
        # The sentence is for people; the exception's own text is kept, redacted, as the
        # raw body the page folds away (integrations/transport_words.py).
        seconds = self.connect_timeout if kind == errors.TIMEOUT else self.read_timeout
        return Problem.build(
            self.provider,
            kind,
            status=status,
            detail=transport_sentence(kind, exc, base_url=self.base_url, seconds=seconds),
            raw_body=self.redactor.text(f"{type(exc).__name__}: {exc}")[:500],
        )

    def _hand_over(self, exchange: Exchange) -> None:
        if self.hook is None:
            return
        try:
            self.hook(exchange)
        except Exception:
            # Losing a log row must not turn a provider success into a failure; the
            # log line says which call went unrecorded.
            logger.exception("exchange_not_recorded", extra={"operation": exchange.operation})

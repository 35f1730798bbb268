"""Local emulator of the Croct API (providers/croct.md is the contract).

Run it: ``python -m integrations.croct.sandbox [--port 8101]``.

Besides the base control endpoints (faults, credentials, stats, reset) it has
``/_sandbox/suspend``: ``POST {"suspended": true}`` makes content, evaluate and track
answer ``202`` with an empty body and ``X-Suspension-Reason`` (``DELETE`` or
``{"suspended": false}`` lifts it, ``GET`` shows it).

``/_sandbox/signed-tokens``: ``POST {"credential": "<API key id or app id>",
"key_id": "<API key id>", "public_key": "<base64 SPKI DER>"}`` makes that account
enforce signed tokens (croct-fetch-content: "the JWT must be signed using an API key
with the Issue user tokens permission, or the request fails with an authorization
error"): an unsigned token, an unknown ``kid`` or a bad signature get a 401
``authentication/invalid-token``. ``DELETE`` lifts every requirement.

Every content/evaluate request's visitor is kept in ``visitors`` (the last 100):
X-Client-Ip (a loopback value falls back to the request IP, as the doc says),
X-Client-Agent (default: the User-Agent) and X-Client-Library.

Past the ~400-line hint: the emulator's routing and request guards (keys, client
ids, visitor headers, signed tokens) are one request pipeline; content, CQL and export
answers live in their own sandbox_* modules.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import time
from collections import Counter, deque
from collections.abc import Mapping
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_public_key
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from integrations.croct import payloads, tokens, wire
from integrations.croct.sandbox_content import build_catalog, resolve
from integrations.croct.sandbox_cql import CqlError, evaluate
from integrations.croct.sandbox_export import DAY_MS, METADATA, BadCursor, ExportData
from integrations.sandbox import SandboxApp, json_response, run_cli

TYPE_PREFIX = "https://croct.help/api/"
SUSPENSION_REASON = "tracking_and_personalization_suspended"
DEMO_SETTINGS: dict[str, str] = {"app_id": "5f0c2a56-3d1b-4a8e-9c47-2b6d8e1f9a30"}
DEMO_SECRETS: dict[str, str] = {"api_key": "9b1e7c4d-2a6f-4e8b-b3c5-7d9a0f1e2c48"}
# Distinct client ids counted one by one in stats; the rest are summed, so a benchmark
# with random ids cannot grow memory without bound.
MAX_TRACKED_CLIENTS = 1000

TITLES = {
    "invalid-input": "Invalid input",
    "authentication/missing-public-id": "Missing application ID",
    "authentication/invalid-public-id": "Invalid application ID",
    "authentication/invalid-api-key": "Invalid API key",
    "authentication/unknown-api-key": "Unknown API key",
    "authentication/invalid-client-id": "Invalid client ID",
    "authentication/invalid-token": "Invalid token",
    "evaluation/invalid-query": "Invalid query",
    "evaluation/evaluation-failed": "Evaluation failed",
    "event-tracking/invalid-payload": "Invalid event payload",
    # [guess] the types below are not documented; only their statuses are.
    "content/slot-not-found": "Slot not found",
    "export/resource-not-found": "Resource not found",
    "authorization/forbidden": "Forbidden",
    "not-found": "Not found",
    "method-not-allowed": "Method not allowed",
    "quota-exceeded": "Monthly active users quota exceeded",
    "rate-limit-exceeded": "Too many requests",
    "internal-error": "Internal error",
    "service-unavailable": "Service unavailable",
    "gateway-timeout": "Gateway timeout",
}
# [guess] codes for statuses the note names without a type (injected faults use them).
STATUS_CODES = {
    400: "invalid-input",
    401: "authentication/unknown-api-key",
    403: "authorization/forbidden",
    404: "not-found",
    405: "method-not-allowed",
    422: "evaluation/evaluation-failed",
    423: "quota-exceeded",
    429: "rate-limit-exceeded",
    503: "service-unavailable",
    504: "gateway-timeout",
}


class CroctProblem(Exception):
    """Raised by handlers; becomes a Problem Details answer."""

    def __init__(self, status: int, code: str, detail: str = "", **extra: Any):
        super().__init__(detail or code)
        self.status = status
        self.code = code
        self.detail = detail
        self.extra = extra


def problem_response(request: Request, status: int, code: str, detail: str = "", **extra: Any):
    body = {
        "type": TYPE_PREFIX + code,
        "title": TITLES.get(code, "Error"),
        "status": status,
        **({"detail": detail} if detail else {}),
        "instance": request.path,
        **extra,
    }
    return Response(json.dumps(body), status=status, content_type="application/problem+json")


def _invalid(violations: list[payloads.Violation]) -> CroctProblem:
    return CroctProblem(400, "invalid-input", "; ".join(f"{p}: {r}" for p, r in violations))


class CroctSandbox(SandboxApp):
    provider = "croct"

    def __init__(
        self,
        *,
        seed: int = 7,
        export_event_count: int = 5000,
        export_user_count: int = 250,
        export_anchor_ms: int | None = None,
    ):
        super().__init__(seed=seed)
        self.catalog = build_catalog(seed)
        if export_anchor_ms is None:
            # Start of today (UTC): the data stays put for a day of demos.
            export_anchor_ms = int(time.time() * 1000) // DAY_MS * DAY_MS
        self.export = ExportData(
            seed=seed,
            event_count=export_event_count,
            user_count=export_user_count,
            anchor_ms=export_anchor_ms,
        )
        self.reset()

    def rules(self) -> list[Rule]:
        post, get = ["POST"], ["GET"]
        return [
            Rule("/external/web/content", methods=post, endpoint="external_content"),
            Rule("/external/web/static-content", methods=post, endpoint="external_static"),
            Rule("/external/web/evaluate", methods=post, endpoint="external_evaluate"),
            Rule("/client/web/content", methods=post, endpoint="client_content"),
            Rule("/client/web/static-content", methods=post, endpoint="client_static"),
            Rule("/client/web/evaluate", methods=post, endpoint="client_evaluate"),
            Rule("/client/web/track", methods=post, endpoint="client_track"),
            Rule("/export/events", methods=get, endpoint="export_events"),
            Rule("/export/session", methods=get, endpoint="export_sessions"),
            Rule("/export/user", methods=get, endpoint="export_users"),
            Rule("/export/events/<item_id>", methods=get, endpoint="export_event"),
            Rule("/export/session/<item_id>", methods=get, endpoint="export_session"),
            Rule("/export/user/<item_id>", methods=get, endpoint="export_user"),
        ]

    # --- base hooks -------------------------------------------------------------------
    def dispatch(self, request: Request) -> Response:
        try:
            return super().dispatch(request)
        except CroctProblem as problem:
            return problem_response(
                request, problem.status, problem.code, problem.detail, **problem.extra
            )

    def credential_of(self, request: Request) -> str:
        return request.headers.get("X-Api-Key") or request.headers.get("X-App-Id") or ""

    def error_response(self, request: Request, status: int, message: str) -> Response:
        code = STATUS_CODES.get(status) or ("internal-error" if status >= 500 else "invalid-input")
        return problem_response(request, status, code, message)

    def reset(self) -> None:
        super().reset()
        with self.lock:
            self.suspended = False
            self.content_requests = 0
            self.evaluations = 0
            self.tracked = Counter()
            self.tracked_types = Counter()
            self.tracked_other_clients = 0
            self.visitors: deque[dict[str, str]] = deque(maxlen=100)
            # credential -> {kid: public key}; a credential listed here enforces
            # signed tokens.
            self.signed_tokens: dict[str, dict[str, ec.EllipticCurvePublicKey]] = {}

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {
                "suspended": self.suspended,
                "content_requests": self.content_requests,
                "evaluations": self.evaluations,
                "tracked_events": sum(self.tracked.values()) + self.tracked_other_clients,
                "tracked_by_client": dict(self.tracked),
                "tracked_other_clients": self.tracked_other_clients,
                "tracked_by_type": dict(self.tracked_types),
                "last_visitor": self.visitors[-1] if self.visitors else None,
                "signed_tokens_required": sorted(self.signed_tokens),
            }

    def require_signed_tokens(
        self, credential: str, key_id: str, public_key: ec.EllipticCurvePublicKey
    ) -> None:
        """Make ``credential``'s account refuse user tokens not signed by ``key_id``."""
        with self.lock:
            keys = self.signed_tokens.setdefault(credential, {})
            keys[tokens.key_id_hash(key_id)] = public_key

    def control(self, request: Request) -> Response:
        if request.path == "/_sandbox/signed-tokens":
            return self._control_signed_tokens(request)
        if request.path != "/_sandbox/suspend":
            return super().control(request)
        if request.method == "DELETE":
            self.suspended = False
        elif request.method == "POST":
            try:
                body = json.loads(request.get_data() or b"{}")
                self.suspended = bool(body.get("suspended", True))
            except (ValueError, AttributeError) as exc:
                return json_response({"error": str(exc)}, status=400)
        return json_response({"suspended": self.suspended, "reason": SUSPENSION_REASON})

    def _control_signed_tokens(self, request: Request) -> Response:
        if request.method == "DELETE":
            with self.lock:
                self.signed_tokens = {}
        elif request.method == "POST":
            try:
                body = json.loads(request.get_data() or b"{}")
                der = base64.b64decode(body["public_key"], validate=True)
                public_key = load_der_public_key(der)
                if not isinstance(public_key, ec.EllipticCurvePublicKey):
                    raise ValueError("public_key must be an EC P-256 key")
                self.require_signed_tokens(body["credential"], body["key_id"], public_key)
            except (ValueError, KeyError, TypeError, binascii.Error) as exc:
                return json_response({"error": str(exc)}, status=400)
        return json_response({"required": sorted(self.signed_tokens)})

    # --- request checks ---------------------------------------------------------------
    def _api_key(self, request: Request) -> None:
        """providers/croct.md: X-Api-Key is the API key's UUID."""
        key = request.headers.get("X-Api-Key", "")
        if not payloads.UUID_RE.match(key):
            raise CroctProblem(
                401, "authentication/invalid-api-key", "X-Api-Key must be an API key ID (a UUID)."
            )
        if not self.credential_accepted(key):
            raise CroctProblem(401, "authentication/unknown-api-key", "No such API key.")

    def _app_id(self, request: Request) -> None:
        app_id = request.headers.get("X-App-Id")
        if not app_id:
            raise CroctProblem(401, "authentication/missing-public-id", "X-App-Id is missing.")
        if not payloads.UUID_RE.match(app_id) or not self.credential_accepted(app_id):
            raise CroctProblem(401, "authentication/invalid-public-id", "Unknown application ID.")

    def _subject(self, request: Request) -> str:
        """The visitor: the token's ``sub`` when there is one, else the client id."""
        client_id = request.headers.get("X-Client-Id")
        token = request.headers.get("X-Token")
        # croct-fetch-content: "The ID of the client, in the form of a UUID" (any
        # version; dashed or the 32-hex form Croct's tooling writes).
        if client_id is not None and not payloads.CLIENT_ID_RE.match(client_id):
            raise CroctProblem(
                401, "authentication/invalid-client-id", "X-Client-Id must be a UUID."
            )
        claims: Mapping[str, Any] = {}
        if token is not None:
            try:
                header, claims = tokens.decode_token(token)
            except ValueError as exc:
                raise CroctProblem(401, "authentication/invalid-token", str(exc)) from None
            self._check_signature(request, token, header)
        if client_id is None and token is None:
            raise CroctProblem(
                400, "invalid-input", "Either X-Client-Id or X-Token must be present."
            )
        return str(claims.get("sub") or client_id or token)

    def _check_signature(self, request: Request, token: str, header: Mapping[str, Any]) -> None:
        """croct-fetch-content: an application that enforces signed tokens refuses any
        other with an authorization error."""
        keys = self.signed_tokens.get(self.credential_of(request))
        if keys is None:
            return
        if header.get("alg") != "ES256":
            raise CroctProblem(
                401,
                "authentication/invalid-token",
                "This application requires user tokens signed with an API key.",
            )
        public_key = keys.get(str(header.get("kid") or ""))
        if public_key is None:
            raise CroctProblem(
                401, "authentication/invalid-token", "The token's kid names no known API key."
            )
        try:
            tokens.verify_signed_token(token, public_key)
        except ValueError as exc:
            raise CroctProblem(401, "authentication/invalid-token", str(exc)) from None

    def _visitor(self, request: Request) -> None:
        """Keep who the request stands for (croct-fetch-content: request headers)."""
        ip = request.headers.get("X-Client-Ip")
        if ip is not None:
            try:
                address = ipaddress.ip_address(ip.strip())
            except ValueError:
                raise CroctProblem(
                    400, "invalid-input", "X-Client-Ip must be an IP address."
                ) from None
            # A loopback address falls back to the request IP (the doc).
            ip = None if address.is_loopback else str(address)
        visitor = {
            "ip": ip or request.remote_addr or "",
            "agent": request.headers.get("X-Client-Agent") or request.user_agent.string,
            "library": request.headers.get("X-Client-Library", ""),
        }
        with self.lock:
            self.visitors.append(visitor)

    def _json(self, request: Request) -> Any:
        if request.mimetype != "application/json":
            raise CroctProblem(400, "invalid-input", "Content-Type must be application/json.")
        try:
            return json.loads(request.get_data())
        except (ValueError, UnicodeDecodeError):
            raise CroctProblem(400, "invalid-input", "The body is not valid JSON.") from None

    def _suspension(self) -> Response | None:
        if not self.suspended:
            return None
        return Response(b"", status=202, headers={"X-Suspension-Reason": SUSPENSION_REASON})

    # --- content ----------------------------------------------------------------------
    def external_content(self, request: Request) -> Response:
        self._api_key(request)
        return self._content(request)

    def client_content(self, request: Request) -> Response:
        self._app_id(request)
        return self._content(request)

    def external_static(self, request: Request) -> Response:
        self._api_key(request)
        return self._static(request)

    def client_static(self, request: Request) -> Response:
        self._app_id(request)
        return self._static(request)

    def _content(self, request: Request) -> Response:
        body = self._json(request)
        subject = self._subject(request)
        self._visitor(request)
        suspended = self._suspension()
        if suspended is not None:
            return suspended
        violations = wire.content_body_violations(body)
        if violations:
            raise _invalid(violations)
        preview = None
        if "previewToken" in body:
            preview = _preview_claims(body["previewToken"])
        with self.lock:
            self.content_requests += 1
        return json_response(self._resolve(body, subject, preview))

    def _static(self, request: Request) -> Response:
        body = self._json(request)
        violations = wire.content_body_violations(body, static=True)
        if violations:
            raise _invalid(violations)
        return json_response(self._resolve(body, None, None))

    def _resolve(self, body: dict, subject: str | None, preview: Mapping | None) -> dict:
        slot_id = body["slotId"]
        slot = self.catalog.slots.get(slot_id)
        # [guess] the type URI for an unknown slot or version is not documented.
        if slot is None:
            raise CroctProblem(404, "content/slot-not-found", f"Slot '{slot_id}' does not exist.")
        version = slot.version(body.get("version"))
        if version is None:
            raise CroctProblem(
                404,
                "content/slot-not-found",
                f"Slot '{slot_id}' has no version {body.get('version')}.",
            )
        return resolve(
            self.catalog,
            slot,
            version,
            slot.locale(body.get("preferredLocale")),
            context=body.get("context"),
            subject=subject,
            preview=preview,
            include_schema=bool(body.get("includeSchema")),
        )

    # --- evaluate ---------------------------------------------------------------------
    def external_evaluate(self, request: Request) -> Response:
        self._api_key(request)
        return self._evaluate(request)

    def client_evaluate(self, request: Request) -> Response:
        self._app_id(request)
        return self._evaluate(request)

    def _evaluate(self, request: Request) -> Response:
        body = self._json(request)
        self._subject(request)
        self._visitor(request)
        suspended = self._suspension()
        if suspended is not None:
            return suspended
        violations = wire.evaluate_body_violations(body)
        if violations:
            raise _invalid(violations)
        try:
            result = evaluate(body["query"], body.get("context"))
        except CqlError as exc:
            raise CroctProblem(
                422, f"evaluation/{exc.code}", exc.cause, errors=[exc.as_error()]
            ) from None
        with self.lock:
            self.evaluations += 1
        return json_response(result)

    # --- track ------------------------------------------------------------------------
    def client_track(self, request: Request) -> Response:
        self._app_id(request)
        body = self._json(request)
        client_id = request.headers.get("X-Client-Id")
        subject = self._subject(request)
        suspended = self._suspension()
        if suspended is not None:
            return suspended
        violations = wire.track_body_violations(body)
        if violations:
            raise CroctProblem(
                400,
                "event-tracking/invalid-payload",
                "; ".join(f"{p}: {r}" for p, r in violations),
                violations=[v.as_dict() for v in violations],
            )
        key = client_id or subject
        with self.lock:
            if key in self.tracked or len(self.tracked) < MAX_TRACKED_CLIENTS:
                self.tracked[key] += 1
            else:
                self.tracked_other_clients += 1
            self.tracked_types[body["payload"]["type"]] += 1
        return json_response({})

    # --- export -----------------------------------------------------------------------
    def export_events(self, request: Request) -> Response:
        return self._export_list(request, "events")

    def export_sessions(self, request: Request) -> Response:
        return self._export_list(request, "session")

    def export_users(self, request: Request) -> Response:
        return self._export_list(request, "user")

    def export_event(self, request: Request, item_id: str) -> Response:
        item = self._export_one(request, "events", item_id)
        return json_response({"metadata": METADATA, "event": item})

    def export_session(self, request: Request, item_id: str) -> Response:
        return json_response(self._export_one(request, "session", item_id))

    def export_user(self, request: Request, item_id: str) -> Response:
        return json_response(self._export_one(request, "user", item_id))

    def _export_one(self, request: Request, kind: str, item_id: str) -> dict[str, Any]:
        self._api_key(request)
        item = self.export.find(kind, item_id)
        if item is None:
            # [guess] the 404's type URI is not documented.
            raise CroctProblem(404, "export/resource-not-found", f"No {kind} with ID {item_id}.")
        return item

    def _export_list(self, request: Request, kind: str) -> Response:
        self._api_key(request)
        args = request.args
        start = _int_arg(args, "start", 0)
        end = _int_arg(args, "end", 2**62)
        page_size = _int_arg(args, "pageSize", payloads.DEFAULT_PAGE_SIZE)
        if not payloads.MIN_PAGE_SIZE <= page_size <= payloads.MAX_PAGE_SIZE:
            raise CroctProblem(400, "invalid-input", "pageSize must be between 1 and 1000.")
        if end < start:
            raise CroctProblem(400, "invalid-input", "end must not be before start.")
        event_types = args.getlist("events") if kind == "events" else []
        unknown = [t for t in event_types if t not in payloads.TRACK_EVENT_TYPES]
        if unknown:
            raise CroctProblem(400, "invalid-input", f"Unknown event type {unknown[0]!r}.")
        try:
            items, cursor = self.export.page(
                kind, start, end, page_size, args.get("cursor"), event_types
            )
        except BadCursor as exc:
            raise CroctProblem(400, "invalid-input", str(exc)) from None
        answer: dict[str, Any] = {"items": items, "nextCursor": cursor}
        if kind == "events":
            answer["metadata"] = METADATA
        return json_response(answer)


def _int_arg(args: Mapping[str, str], name: str, default: int) -> int:
    value = args.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise CroctProblem(400, "invalid-input", f"{name} must be a whole number.") from None


def _preview_claims(token: Any) -> dict[str, Any]:
    """Claims {slotId, experienceId, variantId} of a preview token; {} when opaque."""
    try:
        claims = json.loads(tokens.b64url_decode(str(token).split(".")[1]))
    except (ValueError, IndexError, UnicodeDecodeError):
        return {}
    return claims if isinstance(claims, dict) else {}


def demo_slots(seed: int = 7) -> list[dict[str, Any]]:
    """The slots this emulator serves, as a console's demo catalog lists them: id, a
    description (the schema's title), versions, locales, the latest version's
    ``_component`` and its default-locale content (what a visitor outside every
    audience is served)."""
    slots = []
    for slot in build_catalog(seed).slots.values():
        latest = slot.versions[-1]
        locales = sorted({locale for v in slot.versions for locale in v.content})
        content = dict(latest.content.get(slot.default_locale) or {})
        slots.append(
            {
                "slot_id": slot.slot_id,
                "description": str(latest.schema.get("title") or ""),
                "versions": [v.version for v in slot.versions],
                "locales": locales,
                "component": latest.component or "",
                "content": {"_component": latest.component, **content},
            }
        )
    return slots


def create_app(seed: int = 7, **options: Any) -> CroctSandbox:
    """Options: export_event_count (5000), export_user_count (250), export_anchor_ms."""
    return CroctSandbox(seed=seed, **options)


if __name__ == "__main__":
    run_cli(create_app, default_port=8101)

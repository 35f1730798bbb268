"""A small typed client for the Croct API (providers/croct.md).

Server-side calls (``/external/web/…``, ``/export/…``) send ``X-Api-Key`` with the API
key's UUID; events go to the client-side ``/client/web/track`` with ``X-App-Id``
because Croct has no server-side track endpoint.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any
from urllib.parse import quote

from integrations import errors
from integrations.croct import payloads, problems, tokens
from integrations.croct.models import (
    DEFAULT_CLIENT_LIBRARY,
    DEFAULT_LOCALE,
    CampaignContext,
    ContentContext,
    ContentRequest,
    ContentResult,
    EvaluationResult,
    ExportPage,
    PageContext,
    TrackEvent,
    fill_track_event,
    identity_headers,
    locale_field,
    visitor_headers,
)
from integrations.croct.payloads import PayloadError
from integrations.http import ProviderResponse, ProviderSession

__all__ = [
    "DEFAULT_CLIENT_LIBRARY",
    "DEFAULT_LOCALE",
    "EXPORT_PATHS",
    "CampaignContext",
    "ContentContext",
    "ContentRequest",
    "ContentResult",
    "CroctClient",
    "EvaluationResult",
    "ExportPage",
    "PageContext",
    "PayloadError",
    "TrackEvent",
    "api_key_id",
    "fill_track_event",
]

# providers/croct.md: export — the paths are not uniformly plural.
EXPORT_PATHS = {"events": "events", "sessions": "session", "users": "user"}


def api_key_id(api_key: str) -> str:
    """The UUID part of ``<uuid>`` or ``<uuid>:ES256;<key>`` (providers/croct.md: only
    the UUID goes in X-Api-Key)."""
    return api_key.split(":", 1)[0].strip()


def _export_kind(kind: str) -> str:
    for name, path in EXPORT_PATHS.items():
        if kind in (name, path):
            return name
    raise PayloadError("kind", f"{kind!r} is not one of events, sessions, users")


class CroctClient:
    """One Croct application: its ID (not secret) and an API key (secret).

    An API key of the form ``<id>:ES256;<PKCS#8>`` also signs user tokens
    (:meth:`user_token`). Every call names the console in ``X-Client-Library``.
    """

    def __init__(
        self,
        session: ProviderSession,
        *,
        app_id: str,
        api_key: str,
        client_library: str = DEFAULT_CLIENT_LIBRARY,
    ):
        self.session = session
        self.app_id = app_id
        self.client_library = client_library
        self._api_key_id = api_key_id(api_key)
        # A signing key that does not load only stops token signing (raised by
        # user_token), not content or evaluate, which need the key id alone.
        self._signing_key: tokens.SigningKey | None = None
        self._signing_error = ""
        try:
            self._signing_key = tokens.signing_key(api_key)
        except ValueError as exc:
            self._signing_error = str(exc)

    @property
    def signs_tokens(self) -> bool:
        """Whether user tokens are ES256-signed (the API key carries a signing key)."""
        return self._signing_key is not None or bool(self._signing_error)

    def _server_headers(self) -> dict[str, str]:
        # croct-fetch-content: X-Client-Library, "used for usage statistics and feature
        # switching"; sent on every call, not only content.
        return {"X-Api-Key": self._api_key_id, "X-Client-Library": self.client_library}

    # --- content --------------------------------------------------------------------
    def content(self, request: ContentRequest) -> ContentResult:
        """providers/croct.md: fetch content. Raises PayloadError before sending,
        errors.Suspended on a 202, a ProviderError otherwise."""
        body = request.body()
        # The request's own X-Client-Library (default: the console's) wins.
        headers = {**self._server_headers(), **request.headers()}
        return self.session.call(
            "croct.content",
            "POST",
            "/external/web/content",
            json_body=body,
            headers=headers,
            parse=_parse_content,
            context={"slot_id": request.slot_id},
        )

    def static_content(
        self,
        slot_id: str,
        version: str | None = None,
        preferred_locale: Any = None,
        include_schema: bool = False,
    ) -> ContentResult:
        """providers/croct.md: static content — no context and no client headers."""
        if not isinstance(slot_id, str) or not slot_id.strip():
            raise PayloadError("slotId", "is required")
        body: dict[str, Any] = {"slotId": slot_id}
        if version is not None:
            body["version"] = payloads.validate_version(version)
        locale_field(preferred_locale, body)
        if include_schema:
            body["includeSchema"] = True
        return self.session.call(
            "croct.static_content",
            "POST",
            "/external/web/static-content",
            json_body=body,
            headers=self._server_headers(),
            parse=_parse_content,
            context={"slot_id": slot_id},
        )

    # --- evaluate -------------------------------------------------------------------
    def evaluate(
        self,
        query: str,
        context: ContentContext | None = None,
        client_id: str | None = None,
        user_token: str | None = None,
        *,
        client_ip: str | None = None,
        client_agent: str | None = None,
    ) -> EvaluationResult:
        """providers/croct.md: evaluate CQL (at most 500 characters, checked here).

        ``client_ip`` / ``client_agent`` stand for the visitor (X-Client-Ip /
        X-Client-Agent), as on content."""
        body: dict[str, Any] = {"query": payloads.validate_query(query)}
        if context is not None:
            context_json = context.to_json()
            if context_json:
                body["context"] = context_json
        headers = {
            **self._server_headers(),
            **identity_headers(client_id, user_token),
            **visitor_headers(client_ip, client_agent),
        }
        return self.session.call(
            "croct.evaluate",
            "POST",
            "/external/web/evaluate",
            json_body=body,
            headers=headers,
            parse=_parse_evaluation,
        )

    # --- track ----------------------------------------------------------------------
    def track(self, event: TrackEvent) -> None:
        """providers/croct.md: track. Fills missing times and tab id; errors.Suspended
        on a 202."""
        event = fill_track_event(event)
        body = event.body()
        headers = {
            "X-App-Id": self.app_id,
            "X-Client-Library": self.client_library,
            **event.headers(),
        }
        self.session.call(
            "croct.track",
            "POST",
            "/client/web/track",
            json_body=body,
            headers=headers,
            parse=_parse_track,
            context={"event_type": body["payload"]["type"]},
        )

    # --- export ---------------------------------------------------------------------
    def export_events(
        self,
        start_ms: int,
        end_ms: int,
        event_types: Iterable[str] = (),
        page_size: int = payloads.DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
    ) -> ExportPage:
        return self._export_page("events", start_ms, end_ms, event_types, page_size, cursor)

    def export_sessions(
        self,
        start_ms: int,
        end_ms: int,
        page_size: int = payloads.DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
    ) -> ExportPage:
        return self._export_page("sessions", start_ms, end_ms, (), page_size, cursor)

    def export_users(
        self,
        start_ms: int,
        end_ms: int,
        page_size: int = payloads.DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
    ) -> ExportPage:
        return self._export_page("users", start_ms, end_ms, (), page_size, cursor)

    def iter_export(
        self,
        kind: str,
        start_ms: int,
        end_ms: int,
        event_types: Iterable[str] = (),
        page_size: int = payloads.DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
    ) -> Iterator[tuple[dict[str, Any], str | None]]:
        """Yield ``(item, cursor_after_page)`` until a page comes back empty.

        One page is held at a time. To resume after a stop, pass the cursor of the last
        page whose items were all handled. Raises MalformedResponse if the provider
        hands back the same cursor with items (it would loop forever).
        """
        kind = _export_kind(kind)
        event_types = tuple(event_types)
        while True:
            page = self._export_page(kind, start_ms, end_ms, event_types, page_size, cursor)
            if not page.items:
                return
            for item in page.items:
                yield item, page.next_cursor
            if page.next_cursor is None:
                return
            if page.next_cursor == cursor:
                raise errors.MalformedResponse(
                    errors.Problem.build(
                        problems.PROVIDER,
                        errors.MALFORMED_RESPONSE,
                        detail="The export cursor did not advance.",
                        retryable=False,
                    )
                )
            cursor = page.next_cursor

    def _export_page(
        self,
        kind: str,
        start_ms: int,
        end_ms: int,
        event_types: Iterable[str],
        page_size: int,
        cursor: str | None,
    ) -> ExportPage:
        # providers/croct.md: export — start inclusive, end exclusive, unit in one place.
        payloads.validate_page_size(page_size)
        if end_ms < start_ms:
            raise PayloadError("end", "must not be before start")
        params: list[tuple[str, Any]] = [
            ("start", payloads.export_time_param(start_ms)),
            ("end", payloads.export_time_param(end_ms)),
            ("pageSize", page_size),
        ]
        if cursor:
            params.append(("cursor", cursor))
        for event_type in event_types:
            if event_type not in payloads.TRACK_EVENT_TYPES:
                raise PayloadError("events", f"unknown event type {event_type!r}")
            params.append(("events", event_type))
        return self.session.call(
            f"croct.export_{kind}",
            "GET",
            f"/export/{EXPORT_PATHS[kind]}",
            params=params,
            headers=self._server_headers(),
            parse=_parse_export_page,
        )

    def export_event(self, event_id: str) -> dict[str, Any]:
        """One event (unwrapped from ``{"event": …, "metadata": …}``); NotFound on 404."""
        data = self._export_one("events", event_id)
        event = data.get("event")
        return event if isinstance(event, dict) else data

    def export_session(self, session_id: str) -> dict[str, Any]:
        return self._export_one("sessions", session_id)

    def export_user(self, user_id: str) -> dict[str, Any]:
        """The exported user by Croct user id; NotFound on 404."""
        return self._export_one("users", user_id)

    def _export_one(self, kind: str, item_id: str) -> dict[str, Any]:
        if not isinstance(item_id, str) or not item_id.strip():
            raise PayloadError("id", "is required")
        return self.session.call(
            f"croct.export_{kind}_one",
            "GET",
            f"/export/{EXPORT_PATHS[kind]}/{quote(item_id, safe='')}",
            headers=self._server_headers(),
            parse=_parse_object,
            context={"subject": item_id},
        )

    # --- tokens ---------------------------------------------------------------------
    def user_token(self, user_id: str | None = None, *, issued_at: int | None = None) -> str:
        """A user token for ``user_id`` (anonymous when None): ES256-signed when the API
        key carries a signing key (applications that enforce signed tokens refuse the
        rest), unsigned otherwise."""
        if self._signing_error:
            raise PayloadError("api_key", self._signing_error)
        if self._signing_key is not None:
            return tokens.encode_signed_token(
                self.app_id, self._signing_key, user_id, issued_at=issued_at
            )
        return tokens.encode_unsigned_token(self.app_id, user_id, issued_at=issued_at)


def _parse_content(response: ProviderResponse) -> ContentResult:
    problems.raise_for_answer(response, suspendable=True)
    return ContentResult.from_json(problems.json_object(response))


def _parse_evaluation(response: ProviderResponse) -> EvaluationResult:
    problems.raise_for_answer(response, suspendable=True)
    return EvaluationResult(value=problems.json_value(response), raw=response.text())


def _parse_track(response: ProviderResponse) -> None:
    problems.raise_for_answer(response, suspendable=True)


def _parse_object(response: ProviderResponse) -> dict[str, Any]:
    problems.raise_for_answer(response)
    return problems.json_object(response)


def _parse_export_page(response: ProviderResponse) -> ExportPage:
    problems.raise_for_answer(response)
    data = problems.json_object(response)
    items = data["items"]
    if not isinstance(items, list):
        raise TypeError("items is not a list")
    cursor = data.get("nextCursor")
    metadata = data.get("metadata")
    return ExportPage(
        items=items,
        next_cursor=cursor if isinstance(cursor, str) and cursor else None,
        metadata=metadata if isinstance(metadata, Mapping) else None,
    )

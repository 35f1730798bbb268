"""Typed requests and answers of the Croct client (re-exported by ``client``).

Request objects build their own JSON and headers, running the checks in
``payloads`` so nothing invalid leaves the console.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from integrations.croct import payloads, tokens
from integrations.croct.payloads import PayloadError

DEFAULT_CLIENT_LIBRARY = "Switchyard v0.1.0"


class _DefaultLocale:
    """Sentinel: send ``"preferredLocale": null`` (explicitly ask for the slot's default),
    where ``None`` leaves the field out."""

    _instance: _DefaultLocale | None = None

    def __new__(cls) -> _DefaultLocale:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "DEFAULT_LOCALE"


DEFAULT_LOCALE = _DefaultLocale()


@dataclass(frozen=True)
class PageContext:
    url: str
    title: str | None = None
    referrer: str | None = None


@dataclass(frozen=True)
class CampaignContext:
    name: str | None = None
    source: str | None = None
    medium: str | None = None
    content: str | None = None
    term: str | None = None


@dataclass(frozen=True)
class ContentContext:
    """providers/croct.md: fetch content, ``context``."""

    time_zone: str | None = None
    page: PageContext | Mapping[str, str] | None = None
    campaign: CampaignContext | Mapping[str, str] | None = None
    attributes: Mapping[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """The ``context`` object; raises :class:`PayloadError`."""
        data: dict[str, Any] = {}
        if self.time_zone is not None:
            data["timeZone"] = payloads.validate_time_zone(self.time_zone, "context.timeZone")
        if self.page is not None:
            page = _fields(self.page, ("url", "title", "referrer"), "context.page")
            if not page.get("url"):
                raise PayloadError("context.page.url", "is required when a page is given")
            data["page"] = page
        if self.campaign is not None:
            campaign = _fields(
                self.campaign, ("name", "source", "medium", "content", "term"), "context.campaign"
            )
            if campaign:
                data["campaign"] = campaign
        if self.attributes is not None:
            data["attributes"] = payloads.validate_attributes(self.attributes)
        return data


def _fields(value: Any, names: tuple[str, ...], path: str) -> dict[str, str]:
    """The set string fields of a PageContext/CampaignContext (or a plain mapping)."""
    data = value if isinstance(value, Mapping) else vars(value)
    for key in data:
        if key not in names:
            raise PayloadError(f"{path}.{key}", "is not a known field")
    out = {}
    for name in names:
        item = data.get(name)
        if item is None:
            continue
        if not isinstance(item, str):
            raise PayloadError(f"{path}.{name}", "must be a string")
        out[name] = item
    return out


def identity_headers(client_id: str | None, user_token: str | None) -> dict[str, str]:
    """X-Client-Id and/or X-Token; providers/croct.md: either one must be present."""
    if not client_id and not user_token:
        raise PayloadError("clientId", "pass a client id or a user token (either is required)")
    headers = {}
    if client_id:
        headers["X-Client-Id"] = payloads.validate_client_id(client_id)
    if user_token:
        try:
            tokens.decode_token(user_token)
        except ValueError as exc:
            raise PayloadError("userToken", str(exc)) from None
        headers["X-Token"] = user_token
    return headers


def visitor_headers(client_ip: str | None, client_agent: str | None) -> dict[str, str]:
    """X-Client-Ip / X-Client-Agent for a visitor who is not the console server.

    croct-fetch-content: without them Croct takes the request's IP and User-Agent,
    i.e. the console server and ``python-requests``.
    """
    headers = {}
    if client_ip:
        headers["X-Client-Ip"] = payloads.validate_client_ip(client_ip)
    if client_agent:
        headers["X-Client-Agent"] = payloads.validate_client_agent(client_agent)
    return headers


def locale_field(preferred_locale: Any, body: dict[str, Any]) -> None:
    """Put ``preferredLocale`` in ``body``: left out for None, null for DEFAULT_LOCALE,
    else the value exactly as the user gave it (Croct normalizes case and separator)."""
    if preferred_locale is None:
        return
    if preferred_locale is DEFAULT_LOCALE:
        body["preferredLocale"] = None
        return
    body["preferredLocale"] = payloads.validate_locale(preferred_locale)


@dataclass(frozen=True)
class ContentRequest:
    """providers/croct.md: fetch content — ``POST /external/web/content``."""

    slot_id: str
    version: str | None = None
    preferred_locale: str | _DefaultLocale | None = None
    preview_token: str | None = None
    include_schema: bool = False
    context: ContentContext | None = None
    client_id: str | None = None
    user_token: str | None = None
    client_ip: str | None = None
    client_agent: str | None = None
    client_library: str = DEFAULT_CLIENT_LIBRARY

    def body(self) -> dict[str, Any]:
        if not isinstance(self.slot_id, str) or not self.slot_id.strip():
            raise PayloadError("slotId", "is required")
        body: dict[str, Any] = {"slotId": self.slot_id}
        if self.version is not None:
            body["version"] = payloads.validate_version(self.version)
        locale_field(self.preferred_locale, body)
        if self.preview_token:
            body["previewToken"] = self.preview_token
        if self.include_schema:
            body["includeSchema"] = True
        if self.context is not None:
            context = self.context.to_json()
            if context:
                body["context"] = context
        return body

    def headers(self) -> dict[str, str]:
        headers = identity_headers(self.client_id, self.user_token)
        headers.update(visitor_headers(self.client_ip, self.client_agent))
        if self.client_library:
            headers["X-Client-Library"] = self.client_library
        return headers


@dataclass(frozen=True)
class ContentResult:
    """What a slot showed and why (``content_source``: slot, experience or experiment)."""

    content: dict[str, Any]
    component: str | None
    version: str
    content_source: str
    experience_id: str | None = None
    audience_id: str | None = None
    experiment_id: str | None = None
    variant_id: str | None = None
    schema: dict[str, Any] | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ContentResult:
        """Raises KeyError/TypeError on a body without ``content`` (read as malformed)."""
        content = _object(data["content"], "content")
        metadata = _object(data.get("metadata") or {}, "metadata")
        experience = _object(metadata.get("experience") or {}, "metadata.experience")
        experiment = _object(experience.get("experiment") or {}, "metadata.experience.experiment")
        return cls(
            content=content,
            component=content.get("_component"),
            version=str(metadata.get("version") or ""),
            content_source=str(metadata.get("contentSource") or "slot"),
            experience_id=experience.get("experienceId"),
            audience_id=experience.get("audienceId"),
            experiment_id=experiment.get("experimentId"),
            variant_id=experiment.get("variantId"),
            schema=metadata.get("schema"),
            raw=data,
        )


def _object(value: Any, name: str) -> dict[str, Any]:
    # TypeError is read as a malformed answer by ProviderSession.call.
    if not isinstance(value, dict):
        raise TypeError(f"{name} is not an object")
    return value


@dataclass(frozen=True)
class EvaluationResult:
    """The CQL result as JSON (``value``) and the body text it came from (``raw``)."""

    value: Any
    raw: str


@dataclass(frozen=True)
class TrackEvent:
    """providers/croct.md: track. ``payload`` holds ``type`` and the event's fields."""

    payload: Mapping[str, Any]
    url: str
    client_id: str | None = None
    user_token: str | None = None
    tab_id: str | None = None
    time_zone: str | None = None
    metadata: Mapping[str, str] | None = None
    original_time: int | None = None
    departure_time: int | None = None

    def body(self) -> dict[str, Any]:
        """The track body; raises :class:`PayloadError` (fill the times first)."""
        if self.original_time is None or self.departure_time is None or not self.tab_id:
            raise PayloadError("originalTime", "fill the event first (fill_track_event)")
        if not self.url:
            raise PayloadError("context.url", "is required")
        context: dict[str, Any] = {"tabId": self.tab_id, "url": self.url}
        if self.time_zone is not None:
            context["timeZone"] = payloads.validate_time_zone(self.time_zone, "context.timeZone")
        if self.metadata:
            context["metadata"] = dict(self.metadata)
        return {
            "originalTime": self.original_time,
            "departureTime": self.departure_time,
            "context": context,
            "payload": payloads.prepare_track_payload(self.payload),
        }

    def headers(self) -> dict[str, str]:
        return identity_headers(self.client_id, self.user_token)


def fill_track_event(event: TrackEvent, *, now_ms: int | None = None) -> TrackEvent:
    """``event`` with a missing originalTime/departureTime (now) and tabId (a new UUID)."""
    now = int(time.time() * 1000) if now_ms is None else int(now_ms)
    original = now if event.original_time is None else event.original_time
    return replace(
        event,
        original_time=original,
        departure_time=max(now, original) if event.departure_time is None else event.departure_time,
        tab_id=event.tab_id or str(uuid.uuid4()),
    )


@dataclass(frozen=True)
class ExportPage:
    """One export page; an empty ``items`` is the end (providers/croct.md: export)."""

    items: list[dict[str, Any]]
    next_cursor: str | None
    metadata: dict[str, Any] | None = None

"""A small typed client for Altcraft Platform's profile methods.

providers/altcraft.md: every method is ``POST <host>/api/v1.1/profiles/<method>``;
the token travels in the request BODY (never the URL); the body is JSON or XML per
the account's ``format`` setting; success and failure are told apart by the body's
``error`` code, not the HTTP status.

Writes are deduplicated by Altcraft on (headers, body) for a day. Every write the
console makes is a deliberate one, so each call sends a fresh ``X-Request-ID`` unless
the caller passes one: an edit that repeats yesterday's edit is applied again. A retry
of the same logical write passes the ``request_id`` of the first attempt and then
sends byte-identical bytes (the payload builders keep key order fixed and both
encoders are deterministic), so the platform applies it once. When the platform still
answers "duplicate" (``X-Duplicate-Request``), the result says so: ``outcome`` is
``"duplicate"`` and ``applied`` is false, never "saved".

Past the ~400-line hint: one method per documented profile method, each small.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from integrations.altcraft import payloads, problems, xmlcodec
from integrations.altcraft.payloads import BatchItem, PayloadError
from integrations.errors import Problem
from integrations.http import ProviderResponse, ProviderSession, encode_json

T = TypeVar("T")

PATH = "api/v1.1/profiles/"
FORMATS = ("json", "xml")
CONTENT_TYPES = {"json": "application/json", "xml": "application/xml"}
_ID_KEYS = ("profile_id", "id", "_id")


@dataclass(frozen=True)
class Profile:
    """One Altcraft profile: its 24-hex id and its fields (``_fname``, ``email``, …)."""

    profile_id: str
    fields: dict[str, Any]
    raw: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def email(self) -> str:
        return str(self.fields.get("email") or "")

    @property
    def phones(self) -> list[str]:
        phones = self.fields.get("phones") or []
        return [str(p) for p in phones] if isinstance(phones, list) else [str(phones)]

    @property
    def display_name(self) -> str:
        parts = [self.fields.get("_fname"), self.fields.get("_lname")]
        return " ".join(str(p) for p in parts if p) or self.email or self.profile_id


@dataclass(frozen=True)
class ProfilePage:
    profiles: list[Profile]
    # Pass back as ``from_id`` for the next page; None once the database is exhausted
    # (an empty page: a short page is not the end, see list_profiles).
    next_from_id: str | None


@dataclass(frozen=True)
class WriteResult:
    profile_id: str | None
    # Altcraft recognised the request as a repeat and did not apply it again.
    duplicate: bool = False
    duplicate_key: str | None = None
    raw: dict[str, Any] = field(repr=False, default_factory=dict)
    # The X-Request-ID the write was sent with (a retry passes it back).
    request_id: str | None = None

    @property
    def applied(self) -> bool:
        """False for a duplicate: the platform answered with the first request's result
        and did not apply this one."""
        return not self.duplicate

    @property
    def outcome(self) -> str:
        """``"duplicate"`` or ``"saved"``: what a page may say about this write."""
        return "duplicate" if self.duplicate else "saved"


@dataclass(frozen=True)
class BatchItemResult:
    index: int
    profile_id: str | None
    problem: Problem | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


@dataclass(frozen=True)
class BatchResult:
    items: list[BatchItemResult]
    duplicate: bool = False
    duplicate_key: str | None = None
    request_id: str | None = None

    @property
    def failed(self) -> list[BatchItemResult]:
        return [item for item in self.items if not item.ok]

    @property
    def applied(self) -> bool:
        return not self.duplicate

    @property
    def outcome(self) -> str:
        return "duplicate" if self.duplicate else "saved"


class AltcraftClient:
    """Profile methods of one Altcraft account (one database, optionally one resource).

    Every method raises :class:`~integrations.altcraft.payloads.PayloadError` before
    sending when an argument is invalid, and a
    :class:`~integrations.errors.ProviderError` subclass when Altcraft refuses or
    cannot be reached (``AmbiguousMatch`` for code 435, ``ConfigurationError`` for
    413, ``NotFound`` for 404, …).
    """

    def __init__(
        self, session: ProviderSession, *, settings: Mapping[str, Any], secrets: Mapping[str, str]
    ):
        self.session = session
        self.db_id = payloads.clean_positive_int(settings.get("db_id"), "db_id")
        resource_id = settings.get("resource_id")
        self.resource_id = (
            None
            if resource_id in (None, "")
            else payloads.clean_positive_int(resource_id, "resource_id")
        )
        self.format = settings.get("format") or "json"
        if self.format not in FORMATS:
            raise PayloadError("format", f"must be one of: {', '.join(FORMATS)}")
        self._token = secrets.get("token") or ""
        if not self._token:
            raise PayloadError("token", "is required")

    # --- reads --------------------------------------------------------------------

    def get_profile(
        self,
        matching: str,
        identifier: str | Mapping[str, Any],
        *,
        resource_id: int | None = None,
        field_name: str | None = None,
    ) -> Profile:
        """The one profile ``matching`` finds (providers/altcraft.md: ``get``)."""
        body = payloads.get_body(
            db_id=self.db_id,
            resource_id=self.resource_id if resource_id is None else resource_id,
            matching=matching,
            identifier=identifier,
            field_name=field_name,
        )

        def parse(response: ProviderResponse) -> Profile:
            answer = problems.check(response, matching=matching)
            return _profile(answer["profile"])

        return self._call("get", body, parse)

    def list_profiles(self, from_id: str | None = None, limit: int = 100) -> ProfilePage:
        """One page of the database, in id order (providers/altcraft.md: ``list``).

        The cursor is the id of the previous page's last profile. The doc promises no
        page size, so a page shorter than ``limit`` is not the end: only an empty page
        is (``next_from_id`` None).
        """
        body = payloads.list_body(
            db_id=self.db_id, resource_id=self.resource_id, from_id=from_id, limit=limit
        )

        def parse(response: ProviderResponse) -> ProfilePage:
            answer = problems.check(response)
            raw = answer.get("profiles", answer.get("data"))
            if raw in (None, ""):
                raw = []
            if not isinstance(raw, list):
                raise ValueError("`profiles` is not a list")
            profiles = [_profile(item) for item in raw]
            # Tolerate an inclusive cursor: never hand back the profile we started after.
            if from_id and profiles and profiles[0].profile_id == from_id:
                profiles = profiles[1:]
            return ProfilePage(profiles, profiles[-1].profile_id if profiles else None)

        return self._call("list", body, parse)

    # --- writes -------------------------------------------------------------------

    def import_profile(
        self,
        matching: str,
        identifier: str | Mapping[str, Any],
        data: Mapping[str, Any],
        *,
        field_name: str | None = None,
        skip_triggers: bool = False,
        detect_geo: bool = False,
        request_id: str | None = None,
    ) -> WriteResult:
        """Upsert: update the profile ``matching`` finds, or create it."""
        return self._write(
            "import", matching, identifier, data, field_name, skip_triggers, detect_geo, request_id
        )

    def add_profile(
        self,
        matching: str,
        identifier: str | Mapping[str, Any],
        data: Mapping[str, Any],
        *,
        field_name: str | None = None,
        skip_triggers: bool = False,
        detect_geo: bool = False,
        request_id: str | None = None,
    ) -> WriteResult:
        """Insert without lookup; a duplicate unique email is a ``Conflict`` (409)."""
        return self._write(
            "add", matching, identifier, data, field_name, skip_triggers, detect_geo, request_id
        )

    def update_profile(
        self,
        matching: str,
        identifier: str | Mapping[str, Any],
        data: Mapping[str, Any],
        *,
        field_name: str | None = None,
        skip_triggers: bool = False,
        detect_geo: bool = False,
        request_id: str | None = None,
    ) -> WriteResult:
        """Change the profile ``matching`` finds; ``NotFound`` when there is none."""
        return self._write(
            "update", matching, identifier, data, field_name, skip_triggers, detect_geo, request_id
        )

    def import_batch(
        self, items: Sequence[BatchItem | Mapping[str, Any]], **options: Any
    ) -> BatchResult:
        """``import`` for many objects; per-object outcomes in the :class:`BatchResult`.

        ``options``: ``skip_triggers``, ``detect_geo``, ``request_id``.
        """
        return self._batch("import_batch", items, **options)

    def add_batch(
        self, items: Sequence[BatchItem | Mapping[str, Any]], **options: Any
    ) -> BatchResult:
        return self._batch("add_batch", items, **options)

    def update_batch(
        self, items: Sequence[BatchItem | Mapping[str, Any]], **options: Any
    ) -> BatchResult:
        return self._batch("update_batch", items, **options)

    def delete_profile(self, profile_id: str, *, request_id: str | None = None) -> WriteResult:
        """Remove a profile with its events and relations (needs a role permission)."""
        body = payloads.delete_body(
            db_id=self.db_id, resource_id=self.resource_id, profile_id=profile_id
        )
        request_id = _request_id_for(request_id)
        return self._call(
            "delete", body, _write_parser("profile_id", request_id), request_id=request_id
        )

    # --- plumbing -----------------------------------------------------------------

    def _write(
        self,
        method: str,
        matching: str,
        identifier: Any,
        data: Any,
        field_name: str | None,
        skip_triggers: bool,
        detect_geo: bool,
        request_id: str | None,
    ) -> WriteResult:
        body = payloads.write_body(
            db_id=self.db_id,
            resource_id=self.resource_id,
            matching=matching,
            identifier=identifier,
            data=data,
            field_name=field_name,
            data_required=method == "update",
            skip_triggers=skip_triggers,
            detect_geo=detect_geo,
        )
        request_id = _request_id_for(request_id)
        return self._call(method, body, _write_parser(matching, request_id), request_id=request_id)

    def _batch(
        self,
        method: str,
        items: Sequence[BatchItem | Mapping[str, Any]],
        *,
        skip_triggers: bool = False,
        detect_geo: bool = False,
        request_id: str | None = None,
    ) -> BatchResult:
        body = payloads.batch_body(
            db_id=self.db_id,
            resource_id=self.resource_id,
            items=items,
            data_required=method == "update_batch",
            skip_triggers=skip_triggers,
            detect_geo=detect_geo,
        )

        def parse(response: ProviderResponse) -> BatchResult:
            answer = problems.check(response)
            entries = answer.get("data", answer.get("results"))
            if not isinstance(entries, list):
                raise ValueError("the batch answer holds no per-object list")
            results = []
            for index, entry in enumerate(entries):
                if not isinstance(entry, dict):
                    raise ValueError(f"batch entry {index} is not an object")
                code = problems.body_code(entry)
                problem = None
                if code != 0:
                    sent = body["data"][index] if index < len(body["data"]) else {}
                    problem = problems.problem_for_code(
                        code if code is not None else -1,
                        entry,
                        response,
                        matching=sent.get("matching", ""),
                    )
                results.append(BatchItemResult(index, _profile_id_of(entry), problem))
            duplicate, key = _duplicate(response)
            return BatchResult(results, duplicate, key, request_id)

        request_id = _request_id_for(request_id)
        return self._call(method, body, parse, request_id=request_id)

    def _call(
        self,
        method: str,
        body: dict[str, Any],
        parse: Callable[[ProviderResponse], T],
        *,
        request_id: str | None = None,
    ) -> T:
        payload = {"token": self._token, **body}
        content_type = CONTENT_TYPES[self.format]
        headers = {"Content-Type": content_type, "Accept": content_type}
        if request_id is not None:
            headers["X-Request-ID"] = _clean_request_id(request_id)
        if self.format == "xml":
            try:
                data = xmlcodec.encode(payload)
            except xmlcodec.XmlCodecError as exc:
                raise PayloadError("data", str(exc)) from None
        else:
            data = encode_json(payload)
        # providers/altcraft.md: requests — POST <host>/api/v1.1/profiles/<method>
        return self.session.call(
            f"altcraft.profiles.{method}",
            "POST",
            PATH + method,
            parse=parse,
            body=data,
            headers=headers,
            context={"db_id": self.db_id},
        )


def _write_parser(
    matching: str, request_id: str | None = None
) -> Callable[[ProviderResponse], WriteResult]:
    def parse(response: ProviderResponse) -> WriteResult:
        answer = problems.check(response, matching=matching)
        duplicate, key = _duplicate(response)
        return WriteResult(_profile_id_of(answer), duplicate, key, answer, request_id)

    return parse


def _request_id_for(request_id: str | None) -> str:
    """The caller's id (a retry of an earlier write), else a fresh one: a deliberate
    write must differ from any request sent in the last day or the platform drops it
    as a repeat (providers/altcraft.md: request deduplication)."""
    return uuid.uuid4().hex if request_id is None else request_id


def _duplicate(response: ProviderResponse) -> tuple[bool, str | None]:
    # providers/altcraft.md: request deduplication — a repeat gets the original answer
    # plus these two headers.
    flag = response.headers.get("X-Duplicate-Request", "").strip().lower() == "true"
    return flag, response.headers.get("X-Duplicate-Key") or None


def _profile_id_of(answer: Mapping[str, Any]) -> str | None:
    # `delete` answers with data.profile_id, the other writes with a top-level one.
    for container in (answer, answer.get("data"), answer.get("profile")):
        if isinstance(container, Mapping):
            for key in _ID_KEYS:
                if container.get(key):
                    return str(container[key])
    return None


def _profile(raw: Any) -> Profile:
    """A :class:`Profile` from either a flat profile object or ``{id, data{…}}``."""
    if not isinstance(raw, dict):
        raise ValueError("a profile is not an object")
    profile_id = next((str(raw[k]) for k in _ID_KEYS if raw.get(k)), "")
    if not profile_id:
        raise ValueError("a profile has no id")
    if isinstance(raw.get("data"), dict):
        fields = dict(raw["data"])
    else:
        fields = {k: v for k, v in raw.items() if k not in _ID_KEYS}
    return Profile(profile_id, fields, raw)


def _clean_request_id(value: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise PayloadError("request_id", "must be non-empty text")
    if len(value) > 200 or not value.isascii() or not value.isprintable():
        raise PayloadError("request_id", "must be at most 200 printable ASCII characters")
    return value

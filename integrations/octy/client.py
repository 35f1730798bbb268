"""The Octy retention API client: one method per endpoint the console uses.

All calls go through :meth:`ProviderSession.call` with HTTP Basic auth (public key
as username, secret key as password; providers/octy.md: auth). Request bodies are
validated by :mod:`integrations.octy.payloads` before anything is sent.

Batch writes (create/update/delete profiles, items, event types; events batch)
return a :class:`BatchResult` when at least one object went through; its ``failed``
entries carry the input position they refer to. When nothing went through Octy
answers 400 with the failures in ``error.errors``: the client raises
:class:`InvalidRequest` and the failures are in ``exc.problem.details`` (each with
``identifier``, ``error_message`` and, when it could be matched, ``index``).

Past the ~400-line hint: one method per documented endpoint, each small.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from integrations import errors
from integrations.http import ProviderResponse, ProviderSession
from integrations.octy import payloads
from integrations.octy.payloads import (
    EventTypeDefinition,
    ItemSpec,
    NewProfile,
    OctyEvent,
    ProfileUpdate,
)
from integrations.octy.problems import error_parts, is_cursor_exhausted, problem_from_response
from integrations.octy.results import (
    BatchResult,
    CreatedEvent,
    EventBatchResult,
    FailedItem,
    Page,
    Profile,
    ProfileMetadata,
    ProfilePage,
    event_entry_keys,
    event_input_keys,
    event_outcomes,
    failed_items,
    plain_entry_keys,
)

T = TypeVar("T")
PREFIX = "/v1/retention/"


@dataclasses.dataclass(frozen=True)
class _Written:
    """A batch write's answer: converted and raw successes, failures, and the inputs
    taken without being listed (a success body without a result list)."""

    done: list[Any]
    failed: list[FailedItem]
    raw: list[Any]
    unreported: tuple[int, ...]

    def result(self) -> BatchResult:
        return BatchResult(self.done, self.failed, unreported=self.unreported)


NOTHING_FOUND = "no customer profiles were found"


def basic_token(public_key: str, secret_key: str) -> str:
    """The base64 part of the Basic header (also redacted by the provider)."""
    return base64.b64encode(f"{public_key}:{secret_key}".encode()).decode("ascii")


def _body(response: ProviderResponse, *, write: bool = False) -> dict[str, Any]:
    """The JSON object of a 2xx answer; anything else raises the mapped ProviderError
    (``write``: a 500 to a write is ambiguous, see :func:`problem_from_response`)."""
    if response.status >= 400:
        raise errors.error_for(problem_from_response(response, write=write))
    data = response.json_or_none()
    if not isinstance(data, dict):
        raise errors.error_for(problem_from_response(response))
    return data


def _list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{key!r} is not a list")
    return value


def _nothing_found(response: ProviderResponse) -> bool:
    if response.status != 400:
        return False
    error, entries = error_parts(response.json_or_none())
    texts = [str(e.get("error_message") or "") for e in entries] + [str(error.get("reason"))]
    return any(NOTHING_FOUND in t.lower() for t in texts)


def _next_cursor(response: ProviderResponse, sent: str, count: int) -> str | None:
    # providers/octy.md: pagination — page size is not fixed; an empty page, a missing
    # header or a cursor that does not move all mean there is nothing further.
    nxt = response.headers.get("cursor")
    if count == 0 or not nxt or nxt.strip() == sent:
        return None
    return nxt.strip()


class OctyClient:
    """Octy retention API for one account."""

    def __init__(self, session: ProviderSession, *, public_key: str, secret_key: str):
        self.session = session
        self._auth = {"Authorization": f"Basic {basic_token(public_key, secret_key)}"}

    # --- plumbing ---------------------------------------------------------------
    def _get(
        self,
        operation: str,
        path: str,
        parse: Callable[[ProviderResponse], T],
        *,
        params: dict[str, str] | None = None,
        cursor: str | None = None,
    ) -> T:
        headers = dict(self._auth)
        if cursor is not None:
            headers["cursor"] = str(cursor)
        return self.session.call(
            operation, "GET", PREFIX + path, parse=parse, params=params, headers=headers
        )

    def _post(self, operation: str, path: str, body: dict[str, Any], parse: Callable) -> Any:
        # providers/octy.md: errors — Content-Type must be exactly application/json.
        headers = {**self._auth, "Content-Type": "application/json"}
        return self.session.call(
            operation, "POST", PREFIX + path, parse=parse, json_body=body, headers=headers
        )

    def _batch(
        self,
        operation: str,
        path: str,
        body: dict[str, Any],
        *,
        result_key: str,
        failure_key: str,
        input_keys: Sequence[Sequence[Any]],
        convert: Callable[[Any], Any] = lambda x: x,
        entry_keys: Callable[[dict[str, Any]], list[Any]] = plain_entry_keys,
    ) -> _Written:
        """POST a batch and read back what Octy says happened to it."""

        def parse(response: ProviderResponse) -> _Written:
            if response.status == 400:
                _raise_all_failed(response, input_keys, entry_keys)
            data = _body(response, write=True)
            raw = _list(data, result_key)
            failed = failed_items(_list(data, failure_key), input_keys, entry_keys)
            # The doc is silent on whether a "Created"/"Success" answer always lists
            # the objects: without the list, the 2xx is a success for every input it
            # does not list as failed.
            unreported: tuple[int, ...] = ()
            if result_key not in data:
                failed_at = {f.index for f in failed}
                unreported = tuple(i for i in range(len(input_keys)) if i not in failed_at)
            return _Written([convert(x) for x in raw], failed, raw, unreported)

        return self._post(operation, path, body, parse)

    # --- profiles ---------------------------------------------------------------
    def get_profiles(self, ids: Sequence[str]) -> list[Profile]:
        """Profiles by profile_id or customer_id (1–100); [] when none exist."""
        ids = payloads.check_ids(ids)

        def parse(response: ProviderResponse) -> list[Profile]:
            if _nothing_found(response):
                return []
            return [Profile.from_json(p) for p in _list(_body(response), "profiles")]

        # providers/octy.md: endpoints — GET profiles?ids=a,b
        return self._get("octy.profiles.get", "profiles", parse, params={"ids": ",".join(ids)})

    def profiles_page(
        self,
        cursor: str = "0",
        *,
        rfm: str | None = None,
        churn_prob: str | None = None,
        segments: Sequence[str] = (),
    ) -> ProfilePage:
        """One page from ``cursor``; the exhausted-cursor 400 is the end, not an error."""
        params = payloads.profile_filters(rfm, churn_prob, segments)
        sent = str(cursor)

        def parse(response: ProviderResponse) -> ProfilePage:
            # providers/octy.md: pagination — the end of data is a 400.
            if is_cursor_exhausted(response):
                return ProfilePage([], None, sent)
            profiles = [Profile.from_json(p) for p in _list(_body(response), "profiles")]
            return ProfilePage(profiles, _next_cursor(response, sent, len(profiles)), sent)

        return self._get("octy.profiles.page", "profiles", parse, params=params, cursor=sent)

    def iter_profiles(
        self,
        cursor: str = "0",
        *,
        rfm: str | None = None,
        churn_prob: str | None = None,
        segments: Sequence[str] = (),
    ) -> Iterator[ProfilePage]:
        """Non-empty pages from ``cursor`` on; persist ``page.next_cursor`` to resume."""
        next_cursor: str | None = str(cursor)
        while next_cursor is not None:
            page = self.profiles_page(
                next_cursor, rfm=rfm, churn_prob=churn_prob, segments=segments
            )
            if page.profiles:
                yield page
            next_cursor = page.next_cursor

    def profiles_metadata(self, ids: Sequence[str]) -> list[ProfileMetadata]:
        """Merged/deleted state of 1–100 profiles; [] when none exist."""
        ids = payloads.check_ids(ids)

        def parse(response: ProviderResponse) -> list[ProfileMetadata]:
            if _nothing_found(response):
                return []
            data = _body(response)
            return [ProfileMetadata.from_json(p) for p in _list(data, "profiles")]

        return self._get(
            "octy.profiles.metadata", "profiles/metadata", parse, params={"ids": ",".join(ids)}
        )

    def create_profiles(self, profiles: Sequence[NewProfile]) -> BatchResult:
        body = payloads.batch_body("profiles", profiles, payloads.profile_body)
        keys = [[p["customer_id"]] for p in body["profiles"]]
        return self._batch(
            "octy.profiles.create",
            "profiles/create",
            body,
            result_key="profiles",
            failure_key="failed_to_create",
            input_keys=keys,
            convert=Profile.from_json,
        ).result()

    def update_profiles(self, updates: Sequence[ProfileUpdate]) -> BatchResult:
        body = payloads.batch_body("profiles", updates, payloads.profile_update_body)
        keys = [[p["profile_id"], p.get("customer_id")] for p in body["profiles"]]
        return self._batch(
            "octy.profiles.update",
            "profiles/update",
            body,
            result_key="profiles",
            failure_key="failed_to_update",
            input_keys=keys,
            convert=Profile.from_json,
        ).result()

    def delete_profiles(self, profile_ids: Sequence[str]) -> BatchResult:
        """``succeeded`` lists the deleted profile ids."""
        return self._delete_by_ids(
            "octy.profiles.delete", "profiles/delete", "profiles", profile_ids, "profile"
        )

    # --- events -----------------------------------------------------------------
    def create_event(self, event: OctyEvent) -> CreatedEvent:
        body = payloads.event_body(event)

        def parse(response: ProviderResponse) -> CreatedEvent:
            data = _body(response, write=True)
            event_data = data.get("event") if isinstance(data.get("event"), dict) else data
            return CreatedEvent.from_json(event_data)

        return self._post("octy.events.create", "events/create", body, parse)

    def create_events(self, events: Sequence[OctyEvent]) -> EventBatchResult:
        """Up to 500 events; ``outcomes[i]`` says what happened to ``events[i]``.

        Failures are matched to inputs by (event_type, profile_id, event_properties),
        then by (event_type, profile_id), then by a generic ``identifier`` equal to the
        event type or profile id; created events by the same fields, then in order.
        """
        body = payloads.batch_body("events", events, payloads.event_body)
        bodies = body["events"]
        written = self._batch(
            "octy.events.create_batch",
            "events/create/batch",
            body,
            result_key="created_events",
            failure_key="failed_to_create",
            input_keys=event_input_keys(bodies),
            convert=CreatedEvent.from_json,
            entry_keys=event_entry_keys,
        )
        outcomes = event_outcomes(
            bodies, written.raw, written.failed, reported=not written.unreported
        )
        return EventBatchResult(
            written.done, written.failed, unreported=written.unreported, outcomes=outcomes
        )

    # --- definitions: event types, items, segments ------------------------------
    def _page(self, operation: str, path: str, key: str | Sequence[str], cursor: str) -> Page:
        sent = str(cursor)
        keys = (key,) if isinstance(key, str) else tuple(key)

        def parse(response: ProviderResponse) -> Page:
            if is_cursor_exhausted(response):
                return Page([], None, sent)
            data = _body(response)
            found = next((k for k in keys if k in data), keys[0])
            entries = [e for e in _list(data, found) if isinstance(e, dict)]
            meta = data.get("request_meta") if isinstance(data.get("request_meta"), dict) else {}
            total = meta.get("total")
            return Page(
                entries,
                _next_cursor(response, sent, len(entries)),
                sent,
                total if isinstance(total, int) and not isinstance(total, bool) else None,
            )

        return self._get(operation, path, parse, cursor=sent)

    def event_types(self, cursor: str = "0") -> Page:
        return self._page("octy.event_types.list", "events/types", "event_types", cursor)

    def create_event_types(self, definitions: Sequence[EventTypeDefinition]) -> BatchResult:
        body = payloads.batch_body("event_types", definitions, payloads.event_type_body)
        return self._batch(
            "octy.event_types.create",
            "events/types/create",
            body,
            result_key="event_types",
            failure_key="failed_to_create",
            input_keys=[[d["event_type"]] for d in body["event_types"]],
        ).result()

    def delete_event_types(self, event_type_ids: Sequence[str]) -> BatchResult:
        """``succeeded`` lists the deleted event type ids."""
        return self._delete_by_ids(
            "octy.event_types.delete",
            "events/types/delete",
            "event_type_ids",
            event_type_ids,
            "event_type",
        )

    def items(self, cursor: str = "0") -> Page:
        return self._page("octy.items.list", "items", "items", cursor)

    def _items_write(self, operation: str, path: str, items: Sequence[ItemSpec], failure_key: str):
        body = payloads.batch_body("items", items, payloads.item_body)
        return self._batch(
            operation,
            path,
            body,
            result_key="items",
            failure_key=failure_key,
            input_keys=[[i["item_id"]] for i in body["items"]],
        ).result()

    def create_items(self, items: Sequence[ItemSpec]) -> BatchResult:
        return self._items_write("octy.items.create", "items/create", items, "failed_to_create")

    def update_items(self, items: Sequence[ItemSpec]) -> BatchResult:
        return self._items_write("octy.items.update", "items/update", items, "failed_to_update")

    def delete_items(self, item_ids: Sequence[str]) -> BatchResult:
        """``succeeded`` lists the deleted item ids."""
        # [guess] the delete body mirrors profiles/delete: {"items": ["id", ...]}.
        return self._delete_by_ids("octy.items.delete", "items/delete", "items", item_ids, "item")

    def _delete_by_ids(
        self, operation: str, path: str, body_key: str, ids: Sequence[str], noun: str
    ) -> BatchResult:
        """The delete endpoints share one shape: ``{body_key: [ids]}`` in, the deleted
        ``{noun}_id``s under ``deleted_{noun}s`` and ``failed_to_delete`` out."""
        body = payloads.id_batch_body(body_key, ids)
        return self._batch(
            operation,
            path,
            body,
            result_key=f"deleted_{noun}s",
            failure_key="failed_to_delete",
            input_keys=[[i] for i in body[body_key]],
            convert=_id_of(f"{noun}_id"),
        ).result()

    def segments(self, cursor: str = "0") -> Page:
        return self._page("octy.segments.list", "segments", "segments", cursor)

    def message_templates(self, cursor: str = "0") -> Page:
        """One page of Message Template definitions, the fifth paginated resource.

        providers/octy.md: ``GET messaging/templates``. The list's key is not
        documented [guess]: ``message_templates`` or ``templates`` is read.
        """
        return self._page(
            "octy.message_templates.list",
            "messaging/templates",
            ("message_templates", "templates"),
            cursor,
        )


def _id_of(key: str) -> Callable[[Any], str]:
    def convert(entry: Any) -> str:
        return str(entry.get(key) or "") if isinstance(entry, dict) else str(entry)

    return convert


def _raise_all_failed(
    response: ProviderResponse,
    input_keys: Sequence[Sequence[Any]],
    entry_keys: Callable[[dict[str, Any]], list[Any]],
) -> None:
    """Octy's "nothing succeeded" 400: raise with each failure mapped to its input."""
    problem = problem_from_response(response)
    _, entries = error_parts(response.json_or_none())
    mapped = failed_items(entries, input_keys, entry_keys)
    details = []
    for detail, item in zip(problem.details, mapped, strict=False):
        details.append({**detail, "index": item.index})
    problem = dataclasses.replace(problem, details=tuple(details) or problem.details)
    raise errors.error_for(problem)

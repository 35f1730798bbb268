"""The Octy emulator's events, event types, items and segments (providers/octy.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from integrations.octy.payloads import (
    CHARGED,
    CHARGED_REQUIRED,
    EVENT_TYPE_FORBIDDEN,
    MAX_ITEM_DESCRIPTION,
    PayloadError,
    format_created_at,
    identifier_problem,
)
from integrations.octy.sandbox_base import OctyBase
from integrations.octy.sandbox_store import short_id

EVENT = {
    "event_type": (str, True),
    "event_properties": (dict, False),
    "profile_id": (str, True),
    "created_at": (str, False),
}
EVENT_TYPE = {"event_type": (str, True), "event_properties": (list, False)}
ITEM = {
    "item_id": (str, True),
    "item_category": (str, True),
    "item_name": (str, True),
    "item_description": (str, True),
    "item_price": (int, True),
}


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")


class CatalogEndpoints(OctyBase):
    """Handlers for everything that is not a profile."""

    # --- events -----------------------------------------------------------------
    def _event_problem(self, value: dict[str, Any]) -> str | None:
        event_type = value["event_type"]
        problem = identifier_problem(event_type, EVENT_TYPE_FORBIDDEN)
        if problem:
            return f"Invalid event_type: {problem}"
        if event_type not in self.event_types:
            return f"Event type {event_type} has not been defined"
        if self.store.get(value["profile_id"]) is None:
            return "Profile not found"
        properties = value.get("event_properties") or {}
        if event_type == CHARGED:
            for key in CHARGED_REQUIRED:
                if not isinstance(properties.get(key), str) or not properties.get(key):
                    return f"charged events require a string {key} in event_properties"
        if "created_at" in value:
            try:
                format_created_at(value["created_at"])
            except PayloadError:
                return "Invalid created_at: expected YYYY-MM-DD HH:MM:SS"
        return None

    def _record_event(self, value: dict[str, Any]) -> dict[str, Any]:
        self.events_created += 1
        event = {
            "event_id": short_id("event", self.seed, self.events_created),
            "profile_id": value["profile_id"],
            "event_type_id": self.event_types[value["event_type"]]["event_type_id"],
            "event_type": value["event_type"],
            "event_properties": value.get("event_properties") or {},
            "created_at": value.get("created_at") or now(),
        }
        self.recent_events.append(event)
        return event

    def create_event(self, request: Request) -> Response:
        self.hit("POST events/create")
        value = self.body_list_single(request)
        with self.lock:
            message = self._event_problem(value)
            if message:
                return self.octy_error(
                    400,
                    "Event could not be created",
                    "events",
                    [{"error_message": message, "extended_help": "https://octy.ai/docs/events"}],
                )
            event = self._record_event(value)
        return self.success(event, status=201, message="Event created")

    def body_list_single(self, request: Request) -> dict[str, Any]:
        try:
            value = json.loads(request.get_data() or b"null")
        except (ValueError, UnicodeDecodeError):
            raise self.refuse(400, "Malformed JSON in request body") from None
        self.check_shapes("event", [value], EVENT)
        return value

    def create_events(self, request: Request) -> Response:
        self.hit("POST events/create/batch")
        values = self.body_list(request, "events")
        self.check_shapes("events", values, EVENT)
        created, failed = [], []
        with self.lock:
            for value in values:
                message = self._event_problem(value)
                if message:
                    entry = {
                        k: value.get(k) for k in ("event_type", "event_properties", "profile_id")
                    }
                    failed.append(self.failure("event_type", entry, message))
                else:
                    created.append(self._record_event(value))
        if not created:
            return self.all_failed("No events were created", failed, "events")
        return self.success(
            {"created_events": created, "failed_to_create": failed},
            status=201,
            message="Events created",
            count=len(created),
        )

    # --- event types, items, segments -------------------------------------------
    def get_event_types(self, request: Request) -> Response:
        self.hit("GET events/types")
        with self.lock:
            records = list(self.event_types.values())
        return self.catalog_page(request, "event_types", records)

    def create_event_types(self, request: Request) -> Response:
        self.hit("POST events/types/create")
        values = self.body_list(request, "event_types")
        self.check_shapes("event_types", values, EVENT_TYPE)
        created, failed = [], []
        with self.lock:
            for value in values:
                name = value["event_type"]
                problem = identifier_problem(name, EVENT_TYPE_FORBIDDEN)
                message = (
                    f"Invalid event_type: {problem}"
                    if problem
                    else "Event type already exists"
                    if name in self.event_types
                    else None
                )
                if message:
                    failed.append(self.failure("event_type", {"event_type": name}, message))
                    continue
                record = {
                    "event_type_id": short_id("event_type", self.seed, name),
                    "event_type": name,
                    "event_properties": [str(p) for p in value.get("event_properties") or []],
                    "created_at": now(),
                }
                self.event_types[name] = record
                created.append(record)
        if not created:
            return self.all_failed("No event types were created", failed, "events")
        return self.success(
            {"event_types": created, "failed_to_create": failed},
            status=201,
            message="Event types created",
            count=len(created),
        )

    def delete_event_types(self, request: Request) -> Response:
        self.hit("POST events/types/delete")
        values = self.body_list(request, "event_type_ids")
        self.check_shapes("event_type_ids", values, {})
        deleted, failed = [], []
        with self.lock:
            by_id = {r["event_type_id"]: name for name, r in self.event_types.items()}
            for value in values:
                name = by_id.get(value, value if value in self.event_types else None)
                entry = {"event_type_id": value}
                if name is None:
                    failed.append(self.failure("event_type_id", entry, "Event type not found"))
                elif name == CHARGED:
                    failed.append(
                        self.failure("event_type_id", entry, "System event types cannot be deleted")
                    )
                else:
                    deleted.append({"event_type_id": self.event_types.pop(name)["event_type_id"]})
        if not deleted:
            return self.all_failed("No event types were deleted", failed, "events")
        return self.success(
            {"deleted_event_types": deleted, "failed_to_delete": failed},
            status=201,
            count=len(deleted),
        )

    def get_items(self, request: Request) -> Response:
        self.hit("GET items")
        with self.lock:
            records = list(self.items.values())
        return self.catalog_page(request, "items", records)

    def _item_problem(self, value: dict[str, Any]) -> str | None:
        problem = identifier_problem(value["item_id"])
        if problem:
            return f"Invalid item_id: {problem}"
        if not 1 <= len(value["item_description"]) <= MAX_ITEM_DESCRIPTION:
            return f"item_description must be 1 to {MAX_ITEM_DESCRIPTION} characters long"
        if not value["item_category"].strip() or not value["item_name"].strip():
            return "item_category and item_name must not be empty"
        return None

    def _write_items(self, request: Request, *, create: bool) -> Response:
        self.hit("POST items/create" if create else "POST items/update")
        values = self.body_list(request, "items")
        self.check_shapes("items", values, ITEM)
        done, failed = [], []
        with self.lock:
            for value in values:
                item_id = value["item_id"]
                exists = item_id in self.items
                message = self._item_problem(value) or (
                    ("Item already exists" if exists else None)
                    if create
                    else (None if exists else "Item not found")
                )
                if message:
                    failed.append(self.failure("item_id", {"item_id": item_id}, message))
                    continue
                record = {k: value[k] for k in ITEM}
                self.items[item_id] = record
                done.append(record)
        failure_key = "failed_to_create" if create else "failed_to_update"
        if not done:
            return self.all_failed("No items were written", failed, "items")
        return self.success({"items": done, failure_key: failed}, status=201, count=len(done))

    def create_items(self, request: Request) -> Response:
        return self._write_items(request, create=True)

    def update_items(self, request: Request) -> Response:
        return self._write_items(request, create=False)

    def delete_items(self, request: Request) -> Response:
        self.hit("POST items/delete")
        values = self.body_list(request, "items")
        self.check_shapes("items", values, {})
        deleted, failed = [], []
        with self.lock:
            for item_id in values:
                if self.items.pop(item_id, None) is not None:
                    deleted.append({"item_id": item_id})
                else:
                    failed.append(self.failure("item_id", {"item_id": item_id}, "Item not found"))
        if not deleted:
            return self.all_failed("No items were deleted", failed, "items")
        return self.success(
            {"deleted_items": deleted, "failed_to_delete": failed}, status=201, count=len(deleted)
        )

    def get_segments(self, request: Request) -> Response:
        self.hit("GET segments")
        return self.catalog_page(request, "segments", self.segments)

    def get_message_templates(self, request: Request) -> Response:
        # providers/octy.md: Message Template definitions, the fifth paginated resource.
        self.hit("GET messaging/templates")
        return self.catalog_page(request, self.template_list_key, self.message_templates)

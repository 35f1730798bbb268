"""A local emulator of Octy's retention API (providers/octy.md).

Options for :func:`create_app`: ``profile_count`` (seeded profiles, default 5,000;
100,000 costs nothing extra), ``rate_limit_per_minute`` (120 per client IP as the
backend; None disables it), ``page_size`` (100 as the backend), ``legacy_failure_shape``
(partial failures as the source doc's ``{"identifier", "error_message"}``),
``string_error_codes`` (``error.code`` as "400" like the source doc),
``result_lists`` ("always", "never" or "alternate": whether a 201 lists the objects
it wrote; the doc does not promise it), ``template_list_key`` (the undocumented key
of the message template list). Where the doc and the backend disagree the emulator
varies: a request without Authorization gets 400 and 401 in turn. ``POST
/_sandbox/fail_after_write {"count": n}`` applies the next n writes and answers them
500 (the ambiguous case). Look-ups take ``?ids=`` and the source doc's ``?id=``.

Listing filters: ``rfm=a-b`` keeps profiles whose ``rfm_score`` is within [a, b],
``churn_prob`` is an exact label, ``segments=x,y`` keeps profiles in all of them
(segment ids or names). ``/_sandbox/stats`` adds per-endpoint counts and events created.

Run it: ``python -m integrations.octy.sandbox --port 8103``.
"""

from __future__ import annotations

import re
from typing import Any

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from integrations.octy.payloads import (
    CHURN_LABELS,
    MAX_IDS,
    STATUSES,
    attributes_problem,
    identifier_problem,
)
from integrations.octy.sandbox_catalog import CatalogEndpoints, now
from integrations.sandbox import run_cli

DEMO_SETTINGS: dict[str, str] = {}
DEMO_SECRETS: dict[str, str] = {
    "public_key": "pk_demo_2f6c1e9a-8b47-4d3e-9c1a-5e7f0b3d2a61",
    "secret_key": "sk_demo_7a3e5d1c-4b9f-4e2a-8d6c-1f0e9b8a7c52",
}

P = "/v1/retention/"
_RFM = re.compile(r"^(\d+)-(\d+)$")
NEW_PROFILE = {
    "customer_id": (str, True),
    "profile_data": (dict, False),
    "platform_info": (dict, False),
    "has_charged": (bool, False),
}
PROFILE_UPDATE = {
    **NEW_PROFILE,
    "profile_id": (str, True),
    "customer_id": (str, False),
    "status": (str, False),
}


def _attributes_message(name: str, value: Any) -> str | None:
    problem = attributes_problem(value if value is not None else {})
    if problem is None:
        return None
    key, reason = problem
    return f"Invalid {name}{'.' + key if key else ''}: {reason}"


class OctySandbox(CatalogEndpoints):
    def rules(self) -> list[Rule]:
        def r(path: str, endpoint: str, method: str) -> Rule:
            return Rule(P + path, endpoint=endpoint, methods=[method])

        return [
            r("profiles", "get_profiles", "GET"),
            r("profiles/metadata", "get_metadata", "GET"),
            r("profiles/create", "create_profiles", "POST"),
            r("profiles/update", "update_profiles", "POST"),
            r("profiles/delete", "delete_profiles", "POST"),
            r("events/create", "create_event", "POST"),
            r("events/create/batch", "create_events", "POST"),
            r("events/types", "get_event_types", "GET"),
            r("events/types/create", "create_event_types", "POST"),
            r("events/types/delete", "delete_event_types", "POST"),
            r("items", "get_items", "GET"),
            r("items/create", "create_items", "POST"),
            r("items/update", "update_items", "POST"),
            r("items/delete", "delete_items", "POST"),
            r("segments", "get_segments", "GET"),
            r("messaging/templates", "get_message_templates", "GET"),
        ]

    # --- profiles ---------------------------------------------------------------
    @staticmethod
    def _asks_for_ids(request: Request) -> bool:
        # providers/octy.md: the source doc writes `?id`, Octy's CLI sends `?ids=`.
        return "ids" in request.args or "id" in request.args

    def _ids(self, request: Request) -> list[str]:
        raw = request.args.get("ids", request.args.get("id", ""))
        ids = [i.strip() for i in raw.split(",") if i.strip()]
        if not 1 <= len(ids) <= MAX_IDS:
            raise self.refuse(400, f"Between 1 and {MAX_IDS} ids must be provided", "profiles")
        return list(dict.fromkeys(ids))

    def _none_found(self) -> Response:
        errors = [
            {
                "error_message": "No customer profiles were found.",
                "extended_help": "https://octy.ai/docs/profiles",
            }
        ]
        return self.octy_error(400, "Invalid customer identifier provided", "profiles", errors)

    def get_profiles(self, request: Request) -> Response:
        self.hit("GET profiles")
        if self._asks_for_ids(request):
            ids = self._ids(request)
            with self.lock:
                found = [p for p in (self.store.find(i) for i in ids) if p is not None]
            if not found:
                return self._none_found()
            return self.success({"profiles": found}, count=len(found))
        wanted = self._filters(request)
        with self.lock:
            position = self.cursor_of(request, self.store.size())
            found, after = self.store.scan(position, self.page_size, wanted)
        return self.success({"profiles": found}, count=len(found), headers={"cursor": str(after)})

    def _filters(self, request: Request):
        problems = []
        rfm = request.args.get("rfm")
        low = high = None
        if rfm is not None:
            match = _RFM.match(rfm)
            if match:
                low, high = int(match.group(1)), int(match.group(2))
            else:
                problems.append(
                    (
                        ["query", "rfm"],
                        "string does not match '<int>-<int>'",
                        "value_error.str.regex",
                    )
                )
        churn = request.args.get("churn_prob")
        if churn is not None and churn not in CHURN_LABELS:
            problems.append(
                (
                    ["query", "churn_prob"],
                    "value is not a valid enumeration member",
                    "type_error.enum",
                )
            )
        if problems:
            raise self.refuse(
                422,
                "Request validation failed",
                errors=[{"loc": loc, "msg": msg, "type": kind} for loc, msg, kind in problems],
            )
        names = {s["segment_name"]: s["segment_id"] for s in self.segments}
        wanted_segments = {
            names.get(s.strip(), s.strip())
            for s in request.args.get("segments", "").split(",")
            if s.strip()
        }
        if low is None and churn is None and not wanted_segments:
            return None

        def wanted(rfm_score: int, churn_prob: str, segments: list[str]) -> bool:
            if low is not None and not low <= rfm_score <= high:
                return False
            if churn is not None and churn_prob != churn:
                return False
            return wanted_segments.issubset(segments)

        return wanted

    def get_metadata(self, request: Request) -> Response:
        self.hit("GET profiles/metadata")
        ids = self._ids(request)
        found = []
        with self.lock:
            for identifier in ids:
                record = self.store.find(identifier)
                if record is not None:
                    found.append(
                        {
                            "profile_id": record["profile_id"],
                            "customer_id": record["customer_id"],
                            "deleted": False,
                            "merged_into": None,
                        }
                    )
                elif self.store.is_deleted(identifier):
                    index = self.store.seeded_index(identifier)
                    customer = "" if index is None else self.store.seeded_customer(index)
                    found.append(
                        {
                            "profile_id": identifier,
                            "customer_id": customer,
                            "deleted": True,
                            "merged_into": None,
                        }
                    )
        if not found:
            return self._none_found()
        return self.success({"profiles": found}, count=len(found))

    def create_profiles(self, request: Request) -> Response:
        self.hit("POST profiles/create")
        values = self.body_list(request, "profiles")
        self.check_shapes("profiles", values, NEW_PROFILE)
        created, failed = [], []
        with self.lock:
            for value in values:
                customer_id = value["customer_id"]
                message = (
                    self._customer_id_problem(customer_id, None)
                    or _attributes_message("profile_data", value.get("profile_data"))
                    or _attributes_message("platform_info", value.get("platform_info"))
                    or (None if self.store.can_create() else "Profile limit reached")
                )
                if message:
                    failed.append(
                        self.failure("customer_id", {"customer_id": customer_id}, message)
                    )
                    continue
                record = {
                    "profile_id": self.store.new_profile_id(),
                    "customer_id": customer_id,
                    "profile_data": dict(value.get("profile_data") or {}),
                    "platform_info": dict(value.get("platform_info") or {}),
                    "has_charged": bool(value.get("has_charged", False)),
                    "status": "active",
                    "rfm_score": 111,
                    "churn_prob": "low",
                    "segments": [],
                    "created_at": now(),
                }
                self.store.put(record)
                self.store.claim_customer(customer_id, record["profile_id"])
                created.append(record)
        if not created:
            return self.all_failed("No profiles were created", failed, "profiles")
        return self.success(
            {"profiles": created, "failed_to_create": failed},
            status=201,
            message="Profiles created",
            count=len(created),
        )

    def _customer_id_problem(self, customer_id: str, owner: str | None) -> str | None:
        problem = identifier_problem(customer_id)
        if problem:
            return f"Invalid customer_id: {problem}"
        existing = self.store.find(customer_id)
        if existing is not None and existing["profile_id"] != owner:
            return f"A profile with customer_id {customer_id} already exists"
        return None

    def update_profiles(self, request: Request) -> Response:
        self.hit("POST profiles/update")
        values = self.body_list(request, "profiles")
        self.check_shapes("profiles", values, PROFILE_UPDATE)
        updated, failed = [], []
        with self.lock:
            for value in values:
                profile_id = value["profile_id"]
                current = self.store.get(profile_id)
                new_customer = value.get("customer_id")
                message = (
                    ("Profile not found" if current is None else None)
                    or (
                        self._customer_id_problem(new_customer, profile_id)
                        if new_customer is not None
                        else None
                    )
                    or _attributes_message("profile_data", value.get("profile_data"))
                    or _attributes_message("platform_info", value.get("platform_info"))
                    or (
                        f"Invalid status: must be one of {', '.join(STATUSES)}"
                        if value.get("status", "active") not in STATUSES
                        else None
                    )
                )
                if message:
                    failed.append(self.failure("profile_id", {"profile_id": profile_id}, message))
                    continue
                record = {**current}
                for key in ("profile_data", "platform_info"):
                    record[key] = {**current[key], **(value.get(key) or {})}
                for key in ("has_charged", "status"):
                    if key in value:
                        record[key] = value[key]
                if new_customer is not None and new_customer != current["customer_id"]:
                    self.store.rename_customer(current["customer_id"], new_customer, profile_id)
                    record["customer_id"] = new_customer
                self.store.put(record)
                updated.append(record)
        if not updated:
            return self.all_failed("No profiles were updated", failed, "profiles")
        return self.success(
            {"profiles": updated, "failed_to_update": failed},
            status=201,
            message="Profiles updated",
            count=len(updated),
        )

    def delete_profiles(self, request: Request) -> Response:
        self.hit("POST profiles/delete")
        values = self.body_list(request, "profiles")
        self.check_shapes("profiles", values, {})
        deleted, failed = [], []
        with self.lock:
            for profile_id in values:
                if self.store.delete(profile_id):
                    deleted.append({"profile_id": profile_id})
                else:
                    entry = {"profile_id": profile_id}
                    failed.append(self.failure("profile_id", entry, "Profile not found"))
        if not deleted:
            return self.all_failed("No profiles were deleted", failed, "profiles")
        return self.success(
            {"deleted_profiles": deleted, "failed_to_delete": failed},
            status=201,
            message="Profiles deleted",
            count=len(deleted),
        )


def create_app(seed: int = 7, **options: Any) -> OctySandbox:
    return OctySandbox(seed=seed, **options)


if __name__ == "__main__":
    run_cli(create_app, default_port=8103)

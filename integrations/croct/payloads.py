"""Croct request bodies: the documented limits, checked before anything is sent.

Every check comes in two forms: ``*_violations`` returns every ``Violation`` found
(the sandbox answers them all in one 400, as Croct does), and ``validate_*`` raises
:class:`PayloadError` for the first one (the client refuses to send).

providers/croct.md is the contract; paths in messages are the JSON paths of the
offending value (``attributes.plan.tier``, ``payload.goalId``).

Past the ~400-line hint: one check per documented limit, each small.
"""

from __future__ import annotations

import ipaddress
import math
import re
import zoneinfo
from collections.abc import Mapping
from functools import cache
from typing import Any, NamedTuple

from integrations import errors

# providers/croct.md: fetch content, context.attributes [doc]
MAX_ATTRIBUTE_ENTRIES = 30
# "Level" counts maps: the attributes map itself is level 1, a map inside it level 2;
# a map at level 6 is refused. A list counts as a level too (see _value_violations).
MAX_ATTRIBUTE_DEPTH = 5
MAX_ATTRIBUTE_KEY_LENGTH = 50
MAX_ATTRIBUTE_STRING_LENGTH = 50
# [conflict] the JS SDK accepts strings up to 255; the API doc says 50 and wins.
SDK_ATTRIBUTE_STRING_LENGTH = 255

# providers/croct.md: evaluate
MAX_QUERY_LENGTH = 500

# providers/croct.md: export
MIN_PAGE_SIZE = 1
MAX_PAGE_SIZE = 1000
DEFAULT_PAGE_SIZE = 100

VERSION_RE = re.compile(r"^\d+(\.\d+)?$")
LOCALE_RE = re.compile(r"^[a-zA-Z]{2,3}([-_][a-zA-Z]{2,4})?$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
UUID4_RE = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$", re.I
)
# providers/croct.md: X-Client-Id is "a UUID" (any version): the dashed form or the
# 32 hex digits Croct's own tooling generates.
CLIENT_ID_RE = re.compile(
    r"^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32})$", re.I
)
# The doc gives no limit for X-Client-Agent; this only keeps a header sane.
MAX_CLIENT_AGENT_LENGTH = 1024
GOAL_ID_RE = re.compile(r"^[a-z0-9][a-z0-9:_-]+[a-z0-9]$", re.I)

# providers/croct.md: track, event types
TRACK_EVENT_TYPES = frozenset(
    {
        "pageOpened",
        "productViewed",
        "cartViewed",
        "cartModified",
        "checkoutStarted",
        "orderPlaced",
        "userSignedUp",
        "userSignedIn",
        "userSignedOut",
        "goalCompleted",
        "interestShown",
        "postViewed",
        "eventOccurred",
        "linkOpened",
        "leadGenerated",
    }
)
MAX_EVENT_NAME_LENGTH = 50
MAX_EVENT_DETAILS = 10
MAX_EVENT_DETAIL_STRING_LENGTH = 300


class Violation(NamedTuple):
    path: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "reason": self.reason}


class PayloadError(errors.PayloadError):
    """A request the provider would refuse; raised before sending.

    ``path`` names the offending field (``attributes.plan.tier``); ``violations``
    holds every problem found, the first of which is the message.
    """

    def __init__(self, path: str, reason: str, violations: list[Violation] | None = None):
        super().__init__(path, reason)
        self.reason = reason
        self.violations = violations or [Violation(path, reason)]


def raise_first(violations: list[Violation]) -> None:
    if violations:
        first = violations[0]
        raise PayloadError(first.path, first.reason, violations)


def is_number(value: Any) -> bool:
    """A JSON number: bools are ints in Python but not numbers in JSON."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return not isinstance(value, float) or math.isfinite(value)


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def is_time_zone(value: Any) -> bool:
    return isinstance(value, str) and value in _time_zones()


# --- single fields --------------------------------------------------------------
def validate_version(value: str, path: str = "version") -> str:
    if not isinstance(value, str) or not VERSION_RE.match(value):
        raise PayloadError(
            path, f"{errors.quoted(value)} is not a version like 1 or 1.2 (major or major.minor)"
        )
    return value


def validate_locale(value: str, path: str = "preferredLocale") -> str:
    """The locale as given (Croct matches it case-insensitively, with - or _)."""
    if not isinstance(value, str) or not LOCALE_RE.match(value):
        raise PayloadError(path, f"{errors.quoted(value)} is not a locale like en, en-us or pt_BR")
    return value


def validate_time_zone(value: str, path: str = "timeZone") -> str:
    if not is_time_zone(value):
        raise PayloadError(
            path, f"{errors.quoted(value)} is not an IANA time zone such as America/New_York"
        )
    return value


def validate_client_id(value: str, path: str = "clientId") -> str:
    """The id as given: any UUID, dashed or 32 hex digits (providers/croct.md)."""
    if not isinstance(value, str) or not CLIENT_ID_RE.match(value):
        raise PayloadError(
            path, f"{errors.quoted(value)} is not a UUID (8-4-4-4-12 hex digits, or 32 hex digits)"
        )
    return value


def validate_client_ip(value: str, path: str = "clientIp") -> str:
    """An IPv4 or IPv6 address, as X-Client-Ip carries it (croct-fetch-content)."""
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError:
        raise PayloadError(path, f"{errors.quoted(value)} is not an IP address") from None


def validate_client_agent(value: str, path: str = "clientAgent") -> str:
    """A user-agent string fit for a header: printable, one line."""
    if not isinstance(value, str) or not value.strip():
        raise PayloadError(path, "is empty")
    if len(value) > MAX_CLIENT_AGENT_LENGTH or not value.isprintable():
        raise PayloadError(
            path, f"must be one printable line of at most {MAX_CLIENT_AGENT_LENGTH} characters"
        )
    return value.strip()


def validate_query(query: str, path: str = "query") -> str:
    if not isinstance(query, str) or not query.strip():
        raise PayloadError(path, "the CQL query is empty")
    if len(query) > MAX_QUERY_LENGTH:
        raise PayloadError(
            path, f"the CQL query has {len(query)} characters; at most {MAX_QUERY_LENGTH}"
        )
    return query


def validate_page_size(value: int, path: str = "pageSize") -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise PayloadError(path, "must be a whole number")
    if not MIN_PAGE_SIZE <= value <= MAX_PAGE_SIZE:
        raise PayloadError(path, f"{value} is outside {MIN_PAGE_SIZE}–{MAX_PAGE_SIZE}")
    return value


# --- context attributes -----------------------------------------------------------
def attribute_violations(value: Any, path: str = "attributes") -> list[Violation]:
    """Everything wrong with a ``context.attributes`` map, per the documented limits."""
    found: list[Violation] = []
    if not isinstance(value, Mapping):
        return [Violation(path, "must be a map of attributes")]
    _map_violations(value, path, 1, found)
    return found


def validate_attributes(attrs: Mapping[str, Any], path: str = "attributes") -> Mapping[str, Any]:
    """``attrs`` unchanged when it fits the limits; raises :class:`PayloadError`."""
    raise_first(attribute_violations(attrs, path))
    return attrs


def _json_key(key: Any) -> str:
    # What json.dumps turns a key into, so two keys that collide on the wire are caught.
    if isinstance(key, str):
        return key
    return repr(key) if isinstance(key, float) else str(key)


def _map_violations(mapping: Mapping, path: str, level: int, found: list[Violation]) -> None:
    if level > MAX_ATTRIBUTE_DEPTH:
        found.append(
            Violation(
                path,
                f"is nested {level} levels deep; at most {MAX_ATTRIBUTE_DEPTH} "
                "(the attributes map itself is level 1)",
            )
        )
        return
    if len(mapping) > MAX_ATTRIBUTE_ENTRIES:
        found.append(
            Violation(path, f"has {len(mapping)} entries; at most {MAX_ATTRIBUTE_ENTRIES}")
        )
    seen: set[str] = set()
    for key, item in mapping.items():
        key_path = f"{path}.{key}"
        if isinstance(key, str):
            if not key:
                found.append(Violation(key_path, "keys must be non-empty"))
            elif len(key) > MAX_ATTRIBUTE_KEY_LENGTH:
                found.append(
                    Violation(
                        key_path,
                        f"key has {len(key)} characters; at most {MAX_ATTRIBUTE_KEY_LENGTH}",
                    )
                )
        elif not is_number(key):
            found.append(Violation(key_path, "keys must be numbers or non-empty strings"))
        wire_key = _json_key(key)
        if wire_key in seen:
            found.append(Violation(key_path, "duplicates another key once sent as JSON"))
        seen.add(wire_key)
        _value_violations(item, key_path, level, found)


def _value_violations(value: Any, path: str, level: int, found: list[Violation]) -> None:
    if value is None or isinstance(value, bool) or is_number(value):
        return
    if isinstance(value, str):
        if len(value) > MAX_ATTRIBUTE_STRING_LENGTH:
            found.append(
                Violation(
                    path,
                    f"string has {len(value)} characters; the API doc allows at most "
                    f"{MAX_ATTRIBUTE_STRING_LENGTH} (the Croct JS SDK allows "
                    f"{SDK_ATTRIBUTE_STRING_LENGTH}, but the API doc says "
                    f"{MAX_ATTRIBUTE_STRING_LENGTH})",
                )
            )
        return
    if isinstance(value, Mapping):
        _map_violations(value, path, level + 1, found)
        return
    if isinstance(value, list | tuple):
        # The doc's own example passes a list ({"cities": [...]}) though its rule list
        # names only maps; a list is held to the map rules (entries, depth, values).
        if level + 1 > MAX_ATTRIBUTE_DEPTH:
            found.append(Violation(path, f"is nested {level + 1} levels deep; at most 5"))
            return
        if len(value) > MAX_ATTRIBUTE_ENTRIES:
            found.append(
                Violation(path, f"has {len(value)} entries; at most {MAX_ATTRIBUTE_ENTRIES}")
            )
        for index, item in enumerate(value):
            _value_violations(item, f"{path}[{index}]", level + 1, found)
        return
    if isinstance(value, float):
        found.append(Violation(path, "numbers must be finite"))
        return
    found.append(
        Violation(
            path,
            f"{type(value).__name__} is not allowed; use null, a number, "
            "a boolean, a string or a map",
        )
    )


# --- track --------------------------------------------------------------------------
def track_payload_violations(payload: Any, path: str = "payload") -> list[Violation]:
    """providers/croct.md: track, event shapes. Types without a listed shape only need
    a known ``type``."""
    if not isinstance(payload, Mapping):
        return [Violation(path, "must be an object")]
    kind = payload.get("type")
    if kind not in TRACK_EVENT_TYPES:
        return [Violation(f"{path}.type", f"unknown event type {kind!r}")]
    check = _EVENT_CHECKS.get(kind)
    return check(payload, path) if check else []


def prepare_track_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A copy ready to send; raises :class:`PayloadError`.

    Like the SDK, ``userSignedUp`` takes ``userId`` and sends it as ``externalUserId``.
    """
    prepared = dict(payload)
    renames = prepared.get("type") == "userSignedUp" and "externalUserId" not in prepared
    if renames and "userId" in prepared:
        prepared["externalUserId"] = prepared.pop("userId")
    raise_first(track_payload_violations(prepared))
    return prepared


def _goal_completed(payload: Mapping, path: str) -> list[Violation]:
    found = []
    goal = payload.get("goalId")
    if not isinstance(goal, str) or not 3 <= len(goal) <= 100:
        found.append(Violation(f"{path}.goalId", "must be a string of 3 to 100 characters"))
    elif not GOAL_ID_RE.match(goal):
        found.append(
            Violation(
                f"{path}.goalId",
                "must start and end with a letter or digit; inside, letters, digits, : _ -",
            )
        )
    if "value" in payload and not (is_number(payload["value"]) and payload["value"] >= 0):
        found.append(Violation(f"{path}.value", "must be a number of 0 or more"))
    if "currency" in payload and not isinstance(payload["currency"], str):
        found.append(Violation(f"{path}.currency", "must be a string"))
    return found


def _event_occurred(payload: Mapping, path: str) -> list[Violation]:
    found = []
    name = payload.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_EVENT_NAME_LENGTH:
        found.append(Violation(f"{path}.name", "must be a string of 1 to 50 characters"))
    if "details" in payload:
        details = payload["details"]
        if not isinstance(details, Mapping):
            return [*found, Violation(f"{path}.details", "must be an object")]
        if len(details) > MAX_EVENT_DETAILS:
            found.append(Violation(f"{path}.details", f"has {len(details)} entries; at most 10"))
        for key, value in details.items():
            ok = value is None or isinstance(value, bool) or is_number(value)
            ok = ok or (isinstance(value, str) and len(value) <= MAX_EVENT_DETAIL_STRING_LENGTH)
            if not ok:
                found.append(
                    Violation(
                        f"{path}.details.{key}",
                        "must be null, a boolean, a number or a string of at most 300",
                    )
                )
    return found


def _page_opened(payload: Mapping, path: str) -> list[Violation]:
    found = []
    if not isinstance(payload.get("url"), str) or not payload.get("url"):
        found.append(Violation(f"{path}.url", "is required"))
    if "referrer" in payload and not isinstance(payload["referrer"], str):
        found.append(Violation(f"{path}.referrer", "must be a string"))
    return found


def _user_signed_up(payload: Mapping, path: str) -> list[Violation]:
    user = payload.get("externalUserId")
    if not isinstance(user, str) or not user.strip():
        return [Violation(f"{path}.externalUserId", "is required")]
    return []


_EVENT_CHECKS = {
    "goalCompleted": _goal_completed,
    "eventOccurred": _event_occurred,
    "pageOpened": _page_opened,
    "userSignedUp": _user_signed_up,
}


# --- export time unit -----------------------------------------------------------------
# providers/croct.md: export [conflict] — current docs say epoch milliseconds, an older
# README said seconds. This is the only place that knows which one is sent.
EXPORT_TIME_UNIT = "ms"
# Below this a timestamp is read as seconds: 1e11 ms is 1973, 1e11 s is year 5138.
_SECONDS_CUTOFF = 100_000_000_000


def export_time_param(epoch_ms: int) -> int:
    """``start``/``end`` in the unit the export API takes, from epoch milliseconds."""
    epoch_ms = int(epoch_ms)
    return epoch_ms if EXPORT_TIME_UNIT == "ms" else epoch_ms // 1000


def timestamp_ms(value: Any) -> int | None:
    """Epoch milliseconds from an exported timestamp in either unit (None if absent)."""
    if not is_number(value):
        return None
    return int(value * 1000) if abs(value) < _SECONDS_CUTOFF else int(value)

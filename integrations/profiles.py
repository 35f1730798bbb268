"""The profiles adapter: what the console's profiles feature asks of a provider.

Each provider that holds customer profiles defines one :class:`ProfilesAdapter`
subclass in ``integrations/<key>/profiles.py`` and sets it on its ``Provider``
(``profiles = OctyProfiles()``). The feature (``dashboard/profiles``) names no
provider: it finds providers by capability in the registry and calls these methods
with a client the dashboard built. Adapters make provider calls and turn the answers
into the console's one profile shape; they never touch the database.

A normalized profile is a JSON-ready dict::

    {"profile_id", "customer_id", "name", "email", "phone", "status",
     "segments": [...], "attributes": {...}}

Failures are the caller's to handle: a :class:`~integrations.errors.ProviderError`
when the provider failed, a :class:`~integrations.errors.PayloadError` when a value
breaks the provider's rules before anything is sent (:class:`Refused` when the
adapter has worded the message for the person who typed the value). Outcomes that
are answers, not failures (per-object refusals, a duplicate request), come back in
the result dataclasses.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from integrations.errors import PayloadError
from integrations.provider import Field

# Query kinds every provider shares; providers add their own id kinds (``IdRule``).
EMAIL = "email"
PHONE = "phone"
# The shared customer id: a key one provider's answer hands another (a linked key).
CUSTOMER_ID = "customer_id"

# How a provider handles a query kind: it searches it itself, or it waits for another
# provider's answer to hand it a key it can search (any other plan is a reason to skip).
DIRECT = "direct"
LINK = "link"

# Phone numbers are recognised at this rank: id rules with a lower rank are tried
# first (an all-digit provider id would otherwise pass for a phone number).
PHONE_RANK = 50

# Looks profile ids up in the console's local cache: ``(field, value) -> profile ids``.
CachedIds = Callable[[str, str], list[str]]


class Refused(PayloadError):
    """A value the adapter refuses; ``message`` is shown to the person as it is."""


class NotSupported(Exception):
    """This provider has no such profile operation (a declaration/capability mismatch)."""


@dataclass(frozen=True)
class IdRule:
    """An id this provider issues that the search box recognises.

    ``kind`` is stored on each look-up (it must not change once released); ``rank``
    orders the rules of every provider (an email is tried first, a phone at
    :data:`PHONE_RANK`); ``customer_id`` says a value of this kind may be a shared
    customer id, which other providers may search directly.
    """

    kind: str
    label: str
    pattern: re.Pattern[str]
    rank: int
    hint: str
    lowercase: bool = False
    customer_id: bool = False


@dataclass(frozen=True)
class Found:
    """What one look-up answered: normalized profiles and how they were matched."""

    profiles: list[dict[str, Any]]
    matching: str


@dataclass(frozen=True)
class ProfilePage:
    """One page of a listing; ``next_cursor`` None at the end."""

    profiles: list[dict[str, Any]]
    next_cursor: str | None


@dataclass(frozen=True)
class AttributeWrite:
    """What setting an attribute answered: ``failed`` lists per-object refusals
    (``{"identifier", "error_message"}``); ``duplicate`` is a provider recognising a
    repeat of an earlier request (``duplicate_key``) and not applying it again."""

    ok: bool
    failed: list[dict[str, str]] = field(default_factory=list)
    duplicate: bool = False
    duplicate_key: str = ""

    def as_outcome(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "failed": list(self.failed),
            "duplicate": self.duplicate,
            "duplicate_key": self.duplicate_key,
        }


@dataclass(frozen=True)
class ExportPage:
    """One export page; an empty ``items`` is the end."""

    items: list[dict[str, Any]]
    next_cursor: str | None


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON types (dates and the like as strings)."""
    return json.loads(json.dumps(value, default=str))


class ProfilesAdapter:
    """Base adapter; a provider overrides what its capabilities promise.

    Look-up (``PROFILE_LOOKUP``): :attr:`id_rules`, :attr:`direct_kinds`,
    :attr:`link_keys`, :meth:`look_up`, :meth:`fetch`, :meth:`normalize`.
    Browse and sync (``PROFILE_BROWSE``): :attr:`filter_fields`, :meth:`clean_filters`,
    :meth:`browse_page`, :meth:`sync_page`. Write (``PROFILE_WRITE``):
    :meth:`set_attribute`. Export (``EXPORT``): :meth:`clean_export`,
    :meth:`export_page`, :meth:`item_time`.
    """

    id_rules: ClassVar[tuple[IdRule, ...]] = ()
    # Query kinds this provider searches itself.
    direct_kinds: ClassVar[frozenset[str]] = frozenset()
    # Also searches directly any kind whose values may be a shared customer id.
    searches_customer_ids: ClassVar[bool] = False
    # Kinds it can only answer through the console's local cache (searchable now only
    # when the cache knows the value; otherwise the result waits for a linked key).
    cache_searched_kinds: ClassVar[frozenset[str]] = frozenset()
    # Linked keys it can search with, best first; none means it never waits for one.
    link_keys: ClassVar[tuple[str, ...]] = ()
    skip_reason: ClassVar[str] = "This provider cannot look up that kind of query."
    # Listing filters the browse page offers (validated again by clean_filters).
    filter_fields: ClassVar[tuple[Field, ...]] = ()
    # The cursor a new sync starts from (stored on the job, shown when it stops).
    sync_start_cursor: ClassVar[str] = ""
    # The file a new export is written to: ``{kind}`` and ``{pk}`` are filled in.
    export_file_name: ClassVar[str] = "export-{kind}-{pk}.jsonl"

    # --- look-up ----------------------------------------------------------------

    def plan_for(self, kind: str, *, customer_id: bool = False) -> str:
        """:data:`DIRECT`, :data:`LINK`, or the reason this provider skips ``kind``
        (``customer_id``: values of this kind may be a shared customer id)."""
        if kind in self.direct_kinds or (customer_id and self.searches_customer_ids):
            return DIRECT
        if self.link_keys:
            return LINK
        return self.skip_reason

    def look_up(self, client: Any, kind: str, value: str, *, cached_ids: CachedIds) -> Found:
        """The profiles matching ``value`` of ``kind`` (a query kind or a linked key)."""
        raise NotSupported("this provider cannot look profiles up")

    def fetch(self, client: Any, profile_id: str) -> dict[str, Any] | None:
        """The normalized profile, or None when the provider answers with none.

        Raises NotFound when the provider says so, PayloadError for an id it refuses."""
        raise NotSupported("this provider holds no profiles")

    def normalize(self, raw: Any) -> dict[str, Any]:
        """A provider profile in the console's shape (see the module docstring)."""
        raise NotSupported("this provider holds no profiles")

    def advice_when_ambiguous(self, kind: str) -> list[str]:
        """What to suggest when a look-up of ``kind`` matched several profiles."""
        return []

    def customer_keys(self, profile: Mapping[str, Any]) -> list[str]:
        """Every value calls or events for this customer may be filed under."""
        keys = [profile.get(k) for k in ("profile_id", "customer_id", "email", "phone")]
        return [str(k)[:64] for k in dict.fromkeys(keys) if k]

    # --- browse and sync ----------------------------------------------------------

    def clean_filters(self, filters: Mapping[str, Any]) -> dict[str, Any]:
        """The listing filters this provider supports, cleaned; raises PayloadError."""
        clean = {k: v for k, v in (filters or {}).items() if v not in (None, "", [], ())}
        if clean:
            raise Refused("filters", "this provider's listings cannot be filtered")
        return {}

    def browse_page(self, client: Any, cursor: str, filters: Mapping[str, Any]) -> ProfilePage:
        """One page for a person to read, from ``cursor`` ("" for the first)."""
        raise NotSupported("this provider cannot list profiles")

    def sync_page(
        self, client: Any, cursor: str, filters: Mapping[str, Any], *, page_size: int
    ) -> ProfilePage:
        """One page of a sync (``page_size`` where the provider lets the caller choose)."""
        raise NotSupported("this provider cannot list profiles")

    # --- write --------------------------------------------------------------------

    def set_attribute(self, client: Any, profile_id: str, name: str, value: Any) -> AttributeWrite:
        """Create or update one attribute; raises Refused / PayloadError before sending."""
        raise NotSupported("this provider's profiles are read-only")

    # --- export -------------------------------------------------------------------

    def clean_export(self, kind: str, event_types: Sequence[str]) -> list[str]:
        """The event types of an export of ``kind``, checked; raises Refused."""
        raise NotSupported("this provider has no data export")

    def export_page(
        self,
        client: Any,
        *,
        kind: str,
        start_ms: int,
        end_ms: int,
        event_types: Sequence[str],
        cursor: str | None,
        page_size: int,
    ) -> ExportPage:
        raise NotSupported("this provider has no data export")

    def item_time(self, item: Mapping[str, Any]) -> int | None:
        """When an exported item happened (ms), for the progress of the window."""
        return None

"""Reads for the preview pages."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Max, Q, QuerySet

from dashboard.accounts.models import ConnectedAccount
from integrations.provider import Capability
from integrations.registry import providers_with

from .models import (
    CatalogSlot,
    CqlEvaluation,
    Label,
    LabelKind,
    Persona,
    PreviewGrid,
    PreviewRequest,
    PublicShareLink,
)

HISTORY_PAGE_SIZE = 50
CATALOG_PAGE_SIZE = 50
CATALOG_SEARCH_LIMIT = 12
MAX_SEARCH_LENGTH = 120
# result key -> the kind of id it holds
RESULT_ID_KINDS = {
    "experience_id": LabelKind.EXPERIENCE,
    "audience_id": LabelKind.AUDIENCE,
    "experiment_id": LabelKind.EXPERIMENT,
    "variant_id": LabelKind.VARIANT,
}


def accounts_with(capability: Capability) -> QuerySet[ConnectedAccount]:
    """Enabled accounts whose provider can do ``capability`` (Croct, today)."""
    keys = [p.key for p in providers_with(capability)]
    return ConnectedAccount.objects.filter(provider__in=keys, is_enabled=True).order_by("name")


def preview_accounts() -> QuerySet[ConnectedAccount]:
    return accounts_with(Capability.PREVIEW)


def evaluate_accounts() -> QuerySet[ConnectedAccount]:
    return accounts_with(Capability.EVALUATE)


def known_slot_ids(limit: int = 50) -> list[str]:
    """Slot ids previewed before, most used first (the history's slot filter)."""
    rows = (
        PreviewRequest.objects.values("slot_id")
        .annotate(n=Count("id"))
        .order_by("-n", "slot_id")[:limit]
    )
    return [row["slot_id"] for row in rows]


# --- the slot catalog -------------------------------------------------------------------
def catalog_search(
    *, account_id: int | None, query: str, limit: int = CATALOG_SEARCH_LIMIT
) -> list[CatalogSlot]:
    """Catalog slots of ``account_id`` (every account when None) whose id starts with
    ``query``, then those whose id or description contains it; at most ``limit``.

    Two bounded queries on the (account, slot_id) index: fast with 10,000 slots.
    """
    query = query.replace("\x00", "").strip()[:MAX_SEARCH_LENGTH]
    rows = CatalogSlot.objects.select_related("account").order_by("slot_id", "account_id")
    if account_id:
        rows = rows.filter(account_id=account_id)
    if not query:
        return list(rows[:limit])
    first = list(rows.filter(slot_id__istartswith=query)[:limit])
    if len(first) < limit:
        seen = [slot.pk for slot in first]
        first += list(
            rows.filter(Q(slot_id__icontains=query) | Q(description__icontains=query)).exclude(
                pk__in=seen
            )[: limit - len(first)]
        )
    return first


@dataclass(frozen=True)
class CatalogPage:
    slots: list[CatalogSlot]
    # The slot id to pass as ``after`` for the next page, or "" at the end.
    next_after: str


def catalog_page(
    *, account_id: int, after: str = "", query: str = "", page_size: int = CATALOG_PAGE_SIZE
) -> CatalogPage:
    """One page of ``account_id``'s catalog in slot id order, strictly after ``after``
    (keyset on the unique (account, slot_id) index: no OFFSET)."""
    rows = CatalogSlot.objects.filter(account_id=account_id).order_by("slot_id")
    query = query.replace("\x00", "").strip()[:MAX_SEARCH_LENGTH]
    if query:
        rows = rows.filter(Q(slot_id__icontains=query) | Q(description__icontains=query))
    if after:
        rows = rows.filter(slot_id__gt=after)
    found = list(rows[: page_size + 1])
    next_after = found[page_size - 1].slot_id if len(found) > page_size else ""
    return CatalogPage(found[:page_size], next_after)


def catalog_slot(account_id: int, slot_id: str) -> CatalogSlot | None:
    return CatalogSlot.objects.filter(account_id=account_id, slot_id=slot_id).first()


# --- labels -----------------------------------------------------------------------------
@dataclass
class LabelBook:
    """Names by (account id, id): what the label tag reads. Ids are looked up whatever
    their kind (a provider's ids are UUIDs, unique across kinds); a miss is None."""

    names: dict[tuple[int, str], Label] = field(default_factory=dict)

    def get(self, account_id: int | None, target_id: str | None) -> Label | None:
        if not account_id or not target_id:
            return None
        return self.names.get((int(account_id), str(target_id)))

    def __len__(self) -> int:
        return len(self.names)


def result_ids(result: Mapping[str, Any] | None) -> list[str]:
    """The experience, audience, experiment and variant ids a stored result names."""
    if not isinstance(result, Mapping):
        return []
    return [str(result[key]) for key in RESULT_ID_KINDS if result.get(key)]


def label_book(pairs: Iterable[tuple[int, str]]) -> LabelBook:
    """The labels of every (account id, id) in ``pairs``: one query per account."""
    by_account: dict[int, set[str]] = {}
    for account_id, target_id in pairs:
        if account_id and target_id:
            by_account.setdefault(int(account_id), set()).add(str(target_id))
    book = LabelBook()
    for account_id, ids in by_account.items():
        for label in Label.objects.filter(account_id=account_id, target_id__in=ids):
            book.names[(account_id, label.target_id)] = label
    return book


def labels_for(account_id: int, ids: Iterable[str]) -> LabelBook:
    """The labels of ``ids`` in one account (what a share page of one preview needs:
    ``labels_for(preview.account_id, result_ids(preview.result))``)."""
    return label_book((account_id, target_id) for target_id in ids)


def labels_for_previews(previews: Iterable[PreviewRequest | None]) -> LabelBook:
    """The labels of every id the given previews' results name."""
    return label_book(
        (preview.account_id, target_id)
        for preview in previews
        if preview is not None
        for target_id in result_ids(preview.result)
    )


def labels_page(
    *, account_id: int | None = None, kind: str = "", query: str = "", limit: int = 200
) -> list[Label]:
    rows = Label.objects.select_related("account", "updated_by").order_by("kind", "name", "id")
    if account_id:
        rows = rows.filter(account_id=account_id)
    if kind:
        rows = rows.filter(kind=kind)
    query = query.replace("\x00", "").strip()[:MAX_SEARCH_LENGTH]
    if query:
        rows = rows.filter(Q(name__icontains=query) | Q(target_id__istartswith=query))
    return list(rows[:limit])


def personas() -> QuerySet[Persona]:
    return Persona.objects.order_by("name")


def preview_history(
    *, slot_id: str = "", persona_id: int | None = None, account_id: int | None = None
) -> QuerySet[PreviewRequest]:
    """Latest previews first (grid cells included), filtered."""
    rows = PreviewRequest.objects.select_related("account", "created_by")
    if slot_id:
        rows = rows.filter(slot_id=slot_id)
    if persona_id:
        rows = rows.filter(persona_id=persona_id)
    if account_id:
        rows = rows.filter(account_id=account_id)
    return rows.order_by("-created_at", "-id")


def grid_cells(grid: PreviewGrid) -> list[PreviewRequest]:
    return list(grid.cells.order_by("id"))


def recent_grids(limit: int = 10) -> list[PreviewGrid]:
    return list(PreviewGrid.objects.select_related("account")[:limit])


def recent_evaluations(limit: int = 10) -> list[CqlEvaluation]:
    return list(CqlEvaluation.objects.select_related("account")[:limit])


def public_links(preview: PreviewRequest) -> QuerySet[PublicShareLink]:
    """The preview's public links, newest first, each with ``open_count`` and
    ``last_opened_at``."""
    return (
        PublicShareLink.objects.filter(preview=preview)
        .select_related("created_by", "revoked_by")
        .annotate(open_count=Count("opens"), last_opened_at=Max("opens__opened_at"))
        .order_by("-created_at", "-id")
    )


def label_names_for(preview: PreviewRequest) -> dict[str, str]:
    """id -> name for the ids ``preview``'s result names: what a public share page may
    show (names only, never the account they belong to)."""
    book = labels_for(preview.account_id, result_ids(preview.result))
    return {target_id: label.name for (_, target_id), label in book.names.items()}

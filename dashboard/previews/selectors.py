"""Reads for the preview pages."""

from __future__ import annotations

from django.db.models import Count, Max, QuerySet

from dashboard.accounts.models import ConnectedAccount
from integrations.provider import Capability
from integrations.registry import providers_with

from .models import CqlEvaluation, Persona, PreviewGrid, PreviewRequest, PublicShareLink

HISTORY_PAGE_SIZE = 50


def accounts_with(capability: Capability) -> QuerySet[ConnectedAccount]:
    """Enabled accounts whose provider can do ``capability`` (Croct, today)."""
    keys = [p.key for p in providers_with(capability)]
    return ConnectedAccount.objects.filter(provider__in=keys, is_enabled=True).order_by("name")


def preview_accounts() -> QuerySet[ConnectedAccount]:
    return accounts_with(Capability.PREVIEW)


def evaluate_accounts() -> QuerySet[ConnectedAccount]:
    return accounts_with(Capability.EVALUATE)


def known_slot_ids(limit: int = 50) -> list[str]:
    """Slot ids previewed before, most used first (offered as choices on the form)."""
    rows = (
        PreviewRequest.objects.values("slot_id")
        .annotate(n=Count("id"))
        .order_by("-n", "slot_id")[:limit]
    )
    return [row["slot_id"] for row in rows]


def personas() -> QuerySet[Persona]:
    return Persona.objects.order_by("name")


def preview_history(
    *, slot_id: str = "", persona_id: int | None = None, account_id: int | None = None
) -> QuerySet[PreviewRequest]:
    """Latest previews first (grid cells included), filtered."""
    rows = PreviewRequest.objects.select_related("account", "created_by", "persona")
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

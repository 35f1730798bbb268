"""Preview grids: one pending preview per persona x locale, compared against a baseline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from django.db import transaction

from dashboard.accounts.models import ConnectedAccount
from dashboard.previews import visitors
from dashboard.previews.models import Persona, PreviewGrid, PreviewRequest
from dashboard.previews.visitors import VisitorInputError
from integrations.provider import Capability

from .checks import Visitor, check_account, check_slot_id, visitor_for
from .previews import preview_create

MAX_GRID_PERSONAS = 8
MAX_GRID_LOCALES = 6


def grid_create(
    *,
    account: ConnectedAccount,
    slot_id: str,
    personas: Sequence[Persona],
    locales: Sequence[str],
    version: str = "",
    include_schema: bool = False,
    actor=None,
) -> PreviewGrid:
    """A grid with one pending preview per persona x locale; the first cell is the
    baseline. Raises VisitorInputError and stores nothing on bad input."""
    check_account(account, Capability.PREVIEW)
    errors: dict[str, str] = {}
    if not personas:
        errors["personas"] = "pick at least one persona"
    elif len(personas) > MAX_GRID_PERSONAS:
        errors["personas"] = f"at most {MAX_GRID_PERSONAS} personas"
    clean_locales: list[str] = []
    for locale in locales:
        try:
            clean = visitors.check_locale(locale) or visitors.DEFAULT_LOCALE_WORD
        except VisitorInputError as exc:
            errors["locales"] = f"{locale!r}: {exc.errors['locale']}"
            break
        if clean not in clean_locales:
            clean_locales.append(clean)
    if not clean_locales and "locales" not in errors:
        errors["locales"] = "give at least one locale (or “default”)"
    elif len(clean_locales) > MAX_GRID_LOCALES:
        errors["locales"] = f"at most {MAX_GRID_LOCALES} locales"
    # Each checked on its own, so every error shows at once.
    try:
        slot_id = check_slot_id(slot_id)
    except VisitorInputError as exc:
        errors.update(exc.errors)
    try:
        version = visitors.check_version(version)
    except VisitorInputError as exc:
        errors.update(exc.errors)
    visitors_by_persona = {}
    for persona in personas:
        try:
            visitors_by_persona[persona.pk] = one_id_per_row(visitor_for(persona=persona))
        except VisitorInputError as exc:
            errors["personas"] = f"{persona.name}: {'; '.join(exc.errors.values())}"
    if errors:
        raise VisitorInputError(errors)
    with transaction.atomic():
        grid = PreviewGrid.objects.create(
            account=account,
            slot_id=slot_id,
            version=version,
            include_schema=include_schema,
            locales=clean_locales,
            persona_names=[p.name for p in personas],
            created_by=actor,
        )
        cells = [
            preview_create(
                account=account,
                slot_id=slot_id,
                visitor=visitors_by_persona[persona.pk],
                version=version,
                locale=locale,
                include_schema=include_schema,
                actor=actor,
                grid=grid,
            )
            for persona in personas
            for locale in clean_locales
        ]
        grid.baseline = cells[0]
        grid.save(update_fields=["baseline"])
    return grid


def one_id_per_row(visitor: Visitor) -> Visitor:
    """A row is one visitor across its locales: a new visitor gets one client id drawn
    for the whole row (a persona already brings its own)."""
    if visitor.is_new_visitor:
        return replace(visitor, client_id=visitors.new_client_id())
    return visitor


def grid_set_baseline(*, grid: PreviewGrid, cell: PreviewRequest) -> None:
    if cell.grid_id != grid.pk:
        raise VisitorInputError({"baseline": "that cell is not in this grid"})
    grid.baseline = cell
    grid.save(update_fields=["baseline"])

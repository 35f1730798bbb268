"""Personas: named visitor presets (a context and an identity) previews start from."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dashboard.previews import visitors
from dashboard.previews.models import Persona
from dashboard.previews.visitors import VisitorInputError


def persona_save(
    *,
    name: str,
    context: Mapping[str, Any],
    identity_mode: str,
    identity_value: str = "",
    description: str = "",
    persona: Persona | None = None,
    actor=None,
) -> Persona:
    """Create or update a persona. Raises VisitorInputError (a taken name included)."""
    errors: dict[str, str] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = "is required"
    elif len(name) > 80:
        errors["name"] = "at most 80 characters"
    else:
        taken = Persona.objects.filter(name__iexact=name)
        if persona is not None:
            taken = taken.exclude(pk=persona.pk)
        if taken.exists():
            errors["name"] = f"a persona named {name!r} already exists"
    try:
        context = visitors.check_context(context)
    except VisitorInputError as exc:
        errors.update(exc.errors)
    try:
        identity_value = visitors.check_identity(identity_mode, identity_value)
    except VisitorInputError as exc:
        errors.update(exc.errors)
    if errors:
        raise VisitorInputError(errors)
    if persona is None:
        persona = Persona(created_by=actor)
    persona.name = name
    persona.description = (description or "").strip()[:200]
    persona.context = context
    persona.identity_mode = identity_mode
    persona.identity_value = identity_value
    persona.updated_by = actor
    persona.save()
    return persona


def persona_delete(*, persona: Persona, actor=None) -> None:
    # Previews keep persona_name and their context snapshot: history still reads right.
    persona.delete()

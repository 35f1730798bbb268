"""Personas: named visitor presets (a context and an identity) previews start from."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dashboard.previews import visitors
from dashboard.previews.models import IdentityMode, Persona
from dashboard.previews.visitors import VisitorInputError


def persona_check(
    *,
    name: str,
    identity_mode: str,
    identity_value: str = "",
    client_id: str | None = None,
    client_ip: str = "",
    client_agent: str = "",
    context: Mapping[str, Any] | None = None,
    persona: Persona | None = None,
) -> dict[str, Any]:
    """The persona's fields checked and cleaned; raises VisitorInputError with every
    error at once (a taken name included).

    A persona is one visitor: ``client_id`` (any UUID form, kept as typed) is drawn when
    none is given for a new persona and kept on later edits ("" asks for a fresh one).
    ``identity_mode`` is ``client_id`` (anonymous) or ``user_id``; ``random`` is read as
    anonymous (never a new visitor per run), and a client id given as ``identity_value``
    in ``client_id`` mode becomes the persona's.
    """
    errors: dict[str, str] = {}
    if identity_mode == IdentityMode.RANDOM:
        identity_mode = IdentityMode.CLIENT_ID
    if identity_mode == IdentityMode.CLIENT_ID:
        if client_id is None and (identity_value or "").strip():
            client_id = identity_value
        identity_value = ""
    if client_id is None and persona is not None:
        client_id = persona.client_id
    client_id = (client_id or "").strip() or visitors.new_client_id()
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
    checks = [
        ("client_id", lambda: visitors.check_client_id(client_id)),
        ("device", lambda: visitors.check_device(client_ip, client_agent)),
    ]
    if context is not None:
        checks.append(("context", lambda: visitors.check_context(context)))
    if identity_mode == IdentityMode.USER_ID:
        checks.append(
            ("identity_value", lambda: visitors.check_identity(identity_mode, identity_value))
        )
    elif identity_mode != IdentityMode.CLIENT_ID:
        errors["identity_mode"] = "a persona is an anonymous visitor or a signed-in user"
    cleaned: dict[str, Any] = {}
    for key, check in checks:
        try:
            cleaned[key] = check()
        except VisitorInputError as exc:
            errors.update(exc.errors)
    if errors:
        raise VisitorInputError(errors)
    client_ip, client_agent = cleaned["device"]
    return {
        "name": name,
        "identity_mode": identity_mode,
        "identity_value": cleaned.get("identity_value", ""),
        "client_id": cleaned["client_id"],
        "client_ip": client_ip,
        "client_agent": client_agent,
        "context": cleaned.get("context", {}),
    }


def persona_save(
    *,
    name: str,
    context: Mapping[str, Any],
    identity_mode: str,
    identity_value: str = "",
    client_id: str | None = None,
    client_ip: str = "",
    client_agent: str = "",
    description: str = "",
    persona: Persona | None = None,
    actor=None,
) -> Persona:
    """Create or update a persona (checked by :func:`persona_check`). Raises
    VisitorInputError and saves nothing on bad input."""
    fields = persona_check(
        name=name,
        identity_mode=identity_mode,
        identity_value=identity_value,
        client_id=client_id,
        client_ip=client_ip,
        client_agent=client_agent,
        context=context,
        persona=persona,
    )
    if persona is None:
        persona = Persona(created_by=actor)
    for field, value in fields.items():
        setattr(persona, field, value)
    persona.description = (description or "").strip()[:200]
    persona.updated_by = actor
    persona.save()
    return persona


def persona_delete(*, persona: Persona, actor=None) -> None:
    # Previews keep persona_name and their context snapshot: history still reads right.
    persona.delete()

"""What every preview-side request is checked against before a row is written:
the account, the slot id, the preview token and the visitor."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from dashboard.previews import visitors
from dashboard.previews.models import IdentityMode, Persona
from dashboard.previews.visitors import VisitorInputError
from integrations.provider import Capability

MAX_SLOT_ID_LENGTH = 120
MAX_PREVIEW_TOKEN_LENGTH = 4096


@dataclass(frozen=True)
class Visitor:
    """Who a preview is for: a persona (or none) and the context/identity to send.

    ``client_id`` is the X-Client-Id fixed before the run (the persona's, a typed one, a
    grid row's); "" means a new visitor, drawn by the run. ``client_ip`` /
    ``client_agent`` ("" when not given) become X-Client-Ip / X-Client-Agent.
    """

    persona: Persona | None
    context: dict[str, Any]
    identity_mode: str
    identity_value: str
    client_id: str = ""
    client_ip: str = ""
    client_agent: str = ""

    @property
    def is_new_visitor(self) -> bool:
        return self.identity_mode == IdentityMode.RANDOM and not self.client_id


def check_account(account, capability: Capability) -> None:
    """Raises VisitorInputError unless ``account`` is enabled and its provider can do
    ``capability`` (the registry's declaration, not a provider name)."""
    if not account.provider_class.can(capability):
        raise VisitorInputError(
            {
                "account": f"{account.name} is a {account.provider_label} account, which cannot "
                f"{'preview slots' if capability == Capability.PREVIEW else 'evaluate CQL'}"
            }
        )
    if not account.is_enabled:
        raise VisitorInputError({"account": f"{account.name} is disabled"})


def check_slot_id(slot_id: str) -> str:
    slot_id = (slot_id or "").strip()
    if not slot_id:
        raise VisitorInputError({"slot_id": "is required"})
    if len(slot_id) > MAX_SLOT_ID_LENGTH or any(c.isspace() for c in slot_id):
        raise VisitorInputError(
            {"slot_id": f"a slot id has no spaces and at most {MAX_SLOT_ID_LENGTH} characters"}
        )
    return slot_id


def check_preview_token(token: str) -> str:
    # providers/croct.md: the preview token is opaque; only its size and shape are ours.
    token = (token or "").strip()
    if len(token) > MAX_PREVIEW_TOKEN_LENGTH or any(c.isspace() for c in token):
        raise VisitorInputError(
            {
                "preview_token": f"a preview token has no spaces and at most "
                f"{MAX_PREVIEW_TOKEN_LENGTH} characters"
            }
        )
    return token


def visitor_for(
    *,
    persona: Persona | None = None,
    context: Mapping[str, Any] | None = None,
    identity_mode: str | None = None,
    identity_value: str = "",
    client_ip: str = "",
    client_agent: str = "",
) -> Visitor:
    """The persona's context with ``context`` laid over it, and the identity to use: the
    one given, else the persona's (its own client id, with its user token when it is a
    signed-in user), else a new visitor. An IP or agent given replaces the persona's.

    Raises VisitorInputError with every field's error at once.
    """
    errors: dict[str, str] = {}
    merged: dict[str, Any] = {}
    try:
        merged = visitors.merge_context(persona.context if persona else {}, context or {})
        merged = visitors.check_context(merged)
    except VisitorInputError as exc:
        errors.update(exc.errors)
    persona_client_id = persona.client_id if persona else ""
    if identity_mode is None:
        identity_mode = persona.identity_mode if persona else IdentityMode.RANDOM
        identity_value = persona.identity_value if persona else ""
        if persona is not None and identity_mode != IdentityMode.USER_ID:
            identity_mode, identity_value = IdentityMode.CLIENT_ID, persona_client_id
    value = ""
    try:
        value = visitors.check_identity(identity_mode, identity_value)
    except VisitorInputError as exc:
        errors.update(exc.errors)
    ip = agent = ""
    try:
        ip, agent = visitors.check_device(client_ip, client_agent)
    except VisitorInputError as exc:
        errors.update(exc.errors)
    if errors:
        raise VisitorInputError(errors)
    if identity_mode == IdentityMode.CLIENT_ID:
        client_id = value
    elif identity_mode == IdentityMode.USER_ID:
        # The user is on the persona's device: the same client id rides with the token.
        client_id = persona_client_id
    else:
        client_id = ""
    return Visitor(
        persona,
        merged,
        identity_mode,
        value,
        client_id=client_id,
        client_ip=ip or (persona.client_ip if persona else ""),
        client_agent=agent or (persona.client_agent if persona else ""),
    )

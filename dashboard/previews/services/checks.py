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
    """Who a preview is for: a persona (or none) and the context/identity to send."""

    persona: Persona | None
    context: dict[str, Any]
    identity_mode: str
    identity_value: str


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
) -> Visitor:
    """The persona's context with ``context`` laid over it, and the identity to use (the
    one given, else the persona's, else a random client id). Raises VisitorInputError."""
    merged = visitors.merge_context(persona.context if persona else {}, context or {})
    merged = visitors.check_context(merged)
    if identity_mode is None:
        identity_mode = persona.identity_mode if persona else IdentityMode.RANDOM
        identity_value = persona.identity_value if persona else ""
    value = visitors.check_identity(identity_mode, identity_value)
    return Visitor(persona, merged, identity_mode, value)

"""Lifecycle labels for the audit trail.

django-auditlog records every change to an account or credential as a LogEntry (the
ciphertext excluded). Those rows say *what* changed; this module adds *why* and *who*:
services wrap their writes in :func:`audit_action`, and each entry written inside it
carries ``additional_data = {"action": ..., "by": ..., "account_id": ..., "account": ...}``
plus the acting user, even when the write happens outside a request (a task, a command).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# action -> label; the Audit page filters on these.
ACTIONS: dict[str, str] = {
    "connect": "Connected account",
    "edit": "Edited account",
    "move": "Moved account to a new base URL (key typed again)",
    "disable": "Disabled account",
    "enable": "Enabled account",
    "add_key": "Added key",
    "verify": "Verified key",
    "verify_failed": "Verification failed",
    "retry": "Retried verification",
    "promote": "Promoted key",
    "rollback": "Rolled back",
    "revoke": "Revoked key",
    "discard": "Discarded key",
    # previews: the slot catalog and the names of experience/variant ids
    "catalog_seed": "Seeded the demo slot catalog",
    "catalog_add": "Added a slot to the catalog",
    "catalog_edit": "Edited a catalog slot",
    "catalog_remove": "Removed a slot from the catalog",
    "label_name": "Named an id",
    "label_rename": "Renamed an id",
    "label_remove": "Removed an id's name",
}


@dataclass(frozen=True)
class AuditAction:
    action: str
    actor: Any = None
    by: str = ""


_current: contextvars.ContextVar[AuditAction | None] = contextvars.ContextVar(
    "switchyard_audit_action", default=None
)


def _user_or_none(actor: Any) -> Any:
    # AnonymousUser and unsaved users cannot be a LogEntry's actor.
    return actor if getattr(actor, "pk", None) else None


@contextlib.contextmanager
def audit_action(action: str, *, actor: Any = None, by: str = "") -> Iterator[AuditAction]:
    """Entries written inside this block are labelled ``action``, done by ``actor``
    (a user) or ``by`` (``"task accounts.revoke_expired"``, ``"command rotate_credential"``).
    An inner block keeps the outer block's actor unless it names its own."""
    parent = _current.get()
    actor = _user_or_none(actor) or (parent.actor if parent else None)
    by = by or (parent.by if parent else "") or (actor.get_username() if actor else "")
    token = _current.set(AuditAction(action, actor, by))
    try:
        yield _current.get()
    finally:
        _current.reset(token)


def additional_data(*, account_id: int | None, account_name: str) -> dict[str, Any]:
    """What a LogEntry for an account or one of its credentials carries besides the diff."""
    data: dict[str, Any] = {"account_id": account_id, "account": account_name}
    current = _current.get()
    if current is not None:
        data["action"] = current.action
        if current.by:
            data["by"] = current.by
    return data


def fill_actor(sender, instance, **kwargs) -> None:
    """pre_save of LogEntry: the acting user of the current :func:`audit_action`.

    The auditlog middleware already sets the request's user; this covers services
    called with an ``actor`` outside a request (tests, scripts)."""
    current = _current.get()
    if current is not None and current.actor is not None and instance.actor_id is None:
        instance.actor = current.actor


def audit_record(instance, *, changes: dict[str, list[Any]]):
    """An explicit entry for a lifecycle step that changes no audited field
    (a verification that passed). Returns the LogEntry."""
    # Here, not at the top: accounts.models imports this module while the app
    # registry is still loading, before auditlog's models may be imported.
    from auditlog.models import LogEntry

    return LogEntry.objects.log_create(
        instance,
        force_log=True,
        action=LogEntry.Action.UPDATE,
        changes={k: [str(v) for v in pair] for k, pair in changes.items()},
    )

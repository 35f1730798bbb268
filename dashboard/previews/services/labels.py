"""Labels: the names staff give experience, audience, experiment and variant ids.

One name per (account, kind, id); naming an id that has a name renames it. Every
write is audited (``label_name``, ``label_rename``, ``label_remove``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from dashboard.accounts.audit import audit_action
from dashboard.accounts.models import ConnectedAccount
from dashboard.previews.models import Label, LabelKind
from dashboard.previews.visitors import VisitorInputError
from integrations.provider import Capability

MAX_LABEL_LENGTH = 80
MAX_TARGET_ID_LENGTH = 120
# Provider ids are UUIDs or slugs; anything else is not an id a preview could show.
TARGET_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")


@dataclass(frozen=True)
class LabelSaved:
    label: Label
    created: bool
    renamed_from: str = ""

    @property
    def sentence(self) -> str:
        """What the page says after the save."""
        kind = self.label.get_kind_display().lower()
        if self.created:
            return f"Named the {kind} ‘{self.label.name}’."
        if self.renamed_from and self.renamed_from != self.label.name:
            return f"Renamed the {kind} ‘{self.renamed_from}’ to ‘{self.label.name}’."
        return f"The {kind} is already named ‘{self.label.name}’."


def is_labelable_id(value: str) -> bool:
    return bool(value) and len(value) <= MAX_TARGET_ID_LENGTH and bool(TARGET_ID_RE.match(value))


def label_check(*, kind: str, target_id: str, name: str) -> dict[str, str]:
    """The cleaned kind, id and name; raises VisitorInputError naming each bad field."""
    errors: dict[str, str] = {}
    if kind not in LabelKind.values:
        errors["kind"] = f"must be one of {', '.join(LabelKind.values)}"
    target_id = (target_id or "").strip()
    if not is_labelable_id(target_id):
        errors["target_id"] = (
            f"an id has letters, digits, '.', '_', ':' or '-' and at most "
            f"{MAX_TARGET_ID_LENGTH} characters"
        )
    name = " ".join((name or "").split())
    if "\x00" in name:
        errors["name"] = "contains a NUL character (\\0); remove it and save again"
    elif not name:
        errors["name"] = "give the name to show instead of the id"
    elif len(name) > MAX_LABEL_LENGTH:
        errors["name"] = f"at most {MAX_LABEL_LENGTH} characters (this one has {len(name)})"
    if errors:
        raise VisitorInputError(errors)
    return {"kind": kind, "target_id": target_id, "name": name}


def label_save(
    *, account: ConnectedAccount, kind: str, target_id: str, name: str, actor=None
) -> LabelSaved:
    """Name ``target_id`` (or rename it); audited. Raises VisitorInputError and saves
    nothing on bad input."""
    fields = label_check(kind=kind, target_id=target_id, name=name)
    if not account.provider_class.can(Capability.PREVIEW):
        raise VisitorInputError(
            {"account": f"{account.name} does not preview slots, so it serves no such ids"}
        )
    for attempt in range(2):
        try:
            with transaction.atomic():
                label = (
                    Label.objects.select_for_update()
                    .filter(account=account, kind=fields["kind"], target_id=fields["target_id"])
                    .first()
                )
                if label is None:
                    with audit_action("label_name", actor=actor):
                        label = Label.objects.create(
                            account=account, **fields, created_by=actor, updated_by=actor
                        )
                    return LabelSaved(label, created=True)
                before = label.name
                if before != fields["name"]:
                    label.name = fields["name"]
                    label.updated_by = actor
                    with audit_action("label_rename", actor=actor):
                        label.save(update_fields=["name", "updated_by", "updated_at"])
                return LabelSaved(label, created=False, renamed_from=before)
        except IntegrityError:
            # Someone named the same id at the same moment: rename theirs instead.
            if attempt:
                raise
    raise AssertionError("unreachable")


def label_remove(*, label: Label, actor=None) -> str:
    """Forget a name (the id shows again); the sentence to show."""
    kind = label.get_kind_display().lower()
    sentence = f"Removed the name ‘{label.name}’; the {kind} shows its id again."
    with transaction.atomic(), audit_action("label_remove", actor=actor):
        label.delete()
    return sentence

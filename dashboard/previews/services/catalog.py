"""The slot catalog: the slots an account's previews (and exports) have met, the demo
catalog of a sandbox, and what staff add, so a marketer picks a slot instead of
guessing its id.

Recording what a preview saw never fails the preview: the catalog row is a by-product,
written after the preview's own row is saved.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from dashboard.accounts.audit import audit_action
from dashboard.accounts.models import ConnectedAccount
from dashboard.core.db import retry_on_locked
from dashboard.previews import visitors
from dashboard.previews.models import CatalogSlot, PreviewRequest, RunStatus, SlotSource
from dashboard.previews.visitors import VisitorInputError
from integrations.provider import Capability

from .checks import check_account, check_slot_id

logger = logging.getLogger(__name__)

MAX_DESCRIPTION_LENGTH = 200
# A slot lists at most this many versions and locales (the newest kept).
MAX_KNOWN_VALUES = 30
# Content kept as last seen, as JSON text; a larger answer keeps a note instead.
MAX_CONTENT_BYTES = 16_384
NUL = "\x00"


def bounded_content(content: Any) -> Any:
    """``content`` when its JSON is at most MAX_CONTENT_BYTES, else a note saying how
    large it was (the preview itself keeps the whole answer)."""
    if content is None:
        return None
    size = len(json.dumps(content, ensure_ascii=False, default=str).encode())
    if size <= MAX_CONTENT_BYTES:
        return content
    return {
        "_omitted": f"The content was {size:,} bytes; the catalog keeps at most "
        f"{MAX_CONTENT_BYTES:,}. Open the preview for all of it."
    }


def _merged(known: Sequence[str], new: Iterable[str]) -> list[str]:
    values = [str(v) for v in known]
    for value in new:
        if value and value not in values:
            values.append(value)
    return sorted(values)[-MAX_KNOWN_VALUES:]


def _record(
    *,
    account_id: int,
    slot_id: str,
    source: str,
    versions: Iterable[str] = (),
    locales: Iterable[str] = (),
    component: str | None = None,
    content: Any = None,
    description: str = "",
    actor=None,
) -> CatalogSlot:
    """Create or update the catalog row of ``slot_id`` with what was seen now."""
    now = timezone.now()
    for attempt in range(2):
        try:
            with transaction.atomic():
                slot = (
                    CatalogSlot.objects.select_for_update()
                    .filter(account_id=account_id, slot_id=slot_id)
                    .first()
                )
                if slot is None:
                    slot = CatalogSlot(
                        account_id=account_id,
                        slot_id=slot_id,
                        added_source=source,
                        description=description[:MAX_DESCRIPTION_LENGTH],
                        created_by=actor,
                    )
                elif description and not slot.description:
                    slot.description = description[:MAX_DESCRIPTION_LENGTH]
                slot.versions = _merged(slot.versions or [], versions)
                slot.locales = _merged(slot.locales or [], locales)
                if component is not None:
                    slot.component = component[:200]
                if content is not None:
                    slot.last_content = bounded_content(content)
                slot.last_seen_at = now
                slot.last_seen_source = source
                slot.save()
                return slot
        except IntegrityError:
            # Two workers met a new slot at once: the other created the row; update it.
            if attempt:
                raise
    raise AssertionError("unreachable")


def catalog_record_preview(*, preview: PreviewRequest) -> CatalogSlot | None:
    """Note in the catalog what a finished preview was served: its version, the locale
    asked for, ``_component`` and content. None (nothing written) for a failed one."""
    if preview.status != RunStatus.DONE or not isinstance(preview.result, Mapping):
        return None
    result = preview.result
    locale = preview.locale if preview.locale != visitors.DEFAULT_LOCALE_WORD else ""
    return retry_on_locked(
        lambda: _record(
            account_id=preview.account_id,
            slot_id=preview.slot_id,
            source=SlotSource.PREVIEW,
            versions=[str(result.get("version") or "")],
            locales=[locale.lower()] if locale else [],
            component=str(result.get("component") or ""),
            content=result.get("content"),
        )
    )


def catalog_record_seen_quietly(*, preview: PreviewRequest) -> None:
    """:func:`catalog_record_preview` for the preview task: a failure is logged, never
    raised (the preview is already stored; the catalog catches up on the next run)."""
    try:
        catalog_record_preview(preview=preview)
    except Exception:  # noqa: BLE001 - a by-product must not fail the preview's task
        logger.exception("catalog_record_failed", extra={"preview_id": preview.pk})


def catalog_seed(*, account: ConnectedAccount, slots: Iterable[Mapping[str, Any]]) -> int:
    """Add a sandbox's demo slots (``Provider.sandbox_demo_slots``) to ``account``'s
    catalog; slots already there keep what staff wrote. How many were new."""
    added = 0
    with audit_action("catalog_seed", by="command seed_demo"):
        for spec in slots:
            slot_id = str(spec["slot_id"])
            existed = CatalogSlot.objects.filter(account=account, slot_id=slot_id).exists()
            _record(
                account_id=account.pk,
                slot_id=slot_id,
                source=SlotSource.DEMO,
                versions=[str(v) for v in spec.get("versions", ())],
                locales=[str(v).lower() for v in spec.get("locales", ())],
                component=str(spec.get("component") or ""),
                content=spec.get("content"),
                description=str(spec.get("description") or ""),
            )
            added += not existed
    return added


def _check_text_list(name: str, values: Iterable[str], check) -> list[str]:
    cleaned = []
    for value in values:
        value = value.strip()
        if not value:
            continue
        try:
            cleaned.append(check(value))
        except VisitorInputError as exc:
            # The reason quotes the value (shortened) itself.
            raise VisitorInputError({name: next(iter(exc.errors.values()))}) from None
    if len(cleaned) > MAX_KNOWN_VALUES:
        raise VisitorInputError({name: f"at most {MAX_KNOWN_VALUES}"})
    return sorted(set(cleaned))


def split_list(text: str) -> list[str]:
    """``"en, pt-br"`` (commas or spaces) as a list."""
    return [part for part in (text or "").replace(",", " ").split() if part]


def catalog_slot_check(
    *,
    account: ConnectedAccount,
    slot_id: str,
    description: str = "",
    versions: Iterable[str] = (),
    locales: Iterable[str] = (),
    slot: CatalogSlot | None = None,
) -> dict[str, Any]:
    """The fields of a staff entry, checked; raises VisitorInputError naming each bad
    field (a NUL character, a slot id already in the catalog, a bad version...)."""
    errors: dict[str, str] = {}
    values = {"slot_id": slot_id, "description": description}
    for name, value in values.items():
        if NUL in (value or ""):
            errors[name] = "contains a NUL character (\\0); remove it and save again"
    try:
        check_account(account, Capability.PREVIEW)
    except VisitorInputError as exc:
        errors.update(exc.errors)
    cleaned: dict[str, Any] = {}
    if "slot_id" not in errors:
        try:
            cleaned["slot_id"] = check_slot_id(slot_id)
        except VisitorInputError as exc:
            errors.update(exc.errors)
        else:
            taken = CatalogSlot.objects.filter(account=account, slot_id=cleaned["slot_id"])
            if slot is not None:
                taken = taken.exclude(pk=slot.pk)
            if taken.exists():
                errors["slot_id"] = f"{cleaned['slot_id']} is already in this account's catalog"
    description = (description or "").strip()
    if "description" not in errors and len(description) > MAX_DESCRIPTION_LENGTH:
        errors["description"] = f"at most {MAX_DESCRIPTION_LENGTH} characters"
    cleaned["description"] = description
    for name, raw, check in (
        ("versions", versions, visitors.check_version),
        ("locales", locales, visitors.check_locale),
    ):
        raw = list(raw)
        if any(NUL in value for value in raw):
            errors[name] = "contains a NUL character (\\0); remove it and save again"
            continue
        try:
            cleaned[name] = _check_text_list(name, raw, check)
        except VisitorInputError as exc:
            errors.update(exc.errors)
    if "locales" in cleaned:
        cleaned["locales"] = sorted(
            {v.lower().replace("_", "-") for v in cleaned["locales"]}
            - {visitors.DEFAULT_LOCALE_WORD}
        )
    if errors:
        raise VisitorInputError(errors)
    return cleaned


def catalog_slot_save(
    *,
    account: ConnectedAccount,
    slot_id: str,
    description: str = "",
    versions: Iterable[str] = (),
    locales: Iterable[str] = (),
    slot: CatalogSlot | None = None,
    actor=None,
) -> CatalogSlot:
    """Add a slot to ``account``'s catalog, or edit ``slot``; audited. Raises
    VisitorInputError and saves nothing on bad input."""
    if slot is not None:
        account = slot.account
    fields = catalog_slot_check(
        account=account,
        slot_id=slot_id,
        description=description,
        versions=versions,
        locales=locales,
        slot=slot,
    )
    action = "catalog_add" if slot is None else "catalog_edit"
    if slot is None:
        slot = CatalogSlot(account=account, added_source=SlotSource.STAFF, created_by=actor)
    for field, value in fields.items():
        setattr(slot, field, value)
    with transaction.atomic(), audit_action(action, actor=actor):
        slot.save()
    return slot


def catalog_slot_remove(*, slot: CatalogSlot, actor=None) -> None:
    """Remove a slot from the catalog (its previews stay; a new preview adds it back)."""
    with transaction.atomic(), audit_action("catalog_remove", actor=actor):
        slot.delete()

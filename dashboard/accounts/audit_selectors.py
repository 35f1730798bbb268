"""Reads of the audit trail (django-auditlog entries, labelled by the account services)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from auditlog.models import LogEntry
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db.models import QuerySet
from django.utils import timezone

from dashboard.accounts.audit import ACTIONS

SYSTEM = "system"


@dataclass(frozen=True)
class AuditFilters:
    """``actor``: a user id, ``"system"`` (tasks and commands) or "" for anyone;
    ``since`` / ``until``: inclusive dates in the console's time zone."""

    actor: str = ""
    account: int | None = None
    action: str = ""
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True)
class AuditPage:
    entries: list[LogEntry]
    # The id to pass as ``before`` for the next (older) page, or None at the end.
    older: int | None


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def audit_entries(filters: AuditFilters | None = None) -> QuerySet[LogEntry]:
    """Entries matching ``filters``, newest first."""
    filters = filters or AuditFilters()
    entries = LogEntry.objects.select_related("actor", "content_type").order_by("-id")
    if filters.actor == SYSTEM:
        entries = entries.filter(actor__isnull=True)
    elif filters.actor:
        entries = entries.filter(actor_id=filters.actor)
    if filters.account:
        entries = entries.filter(additional_data__account_id=filters.account)
    if filters.action:
        entries = entries.filter(additional_data__action=filters.action)
    if filters.since:
        entries = entries.filter(timestamp__gte=_day_start(filters.since))
    if filters.until:
        entries = entries.filter(timestamp__lt=_day_start(filters.until + timedelta(days=1)))
    return entries


def audit_page(
    *, before: int | None, page_size: int, filters: AuditFilters | None = None
) -> AuditPage:
    """Newest entries first, strictly older than ``before`` (keyset: no OFFSET)."""
    entries = audit_entries(filters)
    if before:
        entries = entries.filter(id__lt=before)
    rows = list(entries[: page_size + 1])
    older = rows[page_size - 1].id if len(rows) > page_size else None
    return AuditPage(entries=rows[:page_size], older=older)


def audit_actor_choices() -> list[tuple[str, str]]:
    """Everyone who appears in the trail, plus "system" for tasks and commands."""
    ids = LogEntry.objects.filter(actor__isnull=False).values("actor_id").distinct()
    users = get_user_model().objects.filter(pk__in=ids).order_by("username")
    return [(str(u.pk), u.get_username()) for u in users] + [(SYSTEM, "System (tasks, commands)")]


def audit_action_choices() -> list[tuple[str, str]]:
    return list(ACTIONS.items())


def entry_action(entry: LogEntry) -> str:
    """The lifecycle label, or auditlog's own (create/update/delete) for other writes."""
    action = (entry.additional_data or {}).get("action")
    return ACTIONS.get(action, "") or entry.get_action_display()


def entry_by(entry: LogEntry) -> str:
    if entry.actor is not None:
        return entry.actor.get_username()
    return (entry.additional_data or {}).get("by") or SYSTEM


def entry_people(entries) -> dict[str, str]:
    """User id (as auditlog stores it) -> username, for every id a page of entries names."""
    ids = set()
    for entry in entries:
        for pair in (entry.changes_dict or {}).values():
            if isinstance(pair, list | tuple):
                ids.update(v for v in map(str, pair) if v.isdigit())
    if not ids:
        return {}
    found = get_user_model().objects.filter(pk__in=[int(i) for i in ids])
    return {str(u.pk): u.get_username() for u in found}


_EMPTY = ("None", "null", "")


_MICROSECONDS = re.compile(r"(\d{2}:\d{2}:\d{2})\.\d+")


def visible_changes(entry, users: dict[str, str] | None = None) -> list[tuple[str, str, str]]:
    """(field, old, new) worth reading, in words: auditlog also lists, on create, every
    empty field and reverse relation ("checks: None -> accounts.AccountCheck.None"),
    stores people as ids ("created_by: 3") and times to the microsecond (#16 defect 11)."""
    users = users or {}
    model = entry.content_type.model_class() if entry.content_type_id else None
    changes = []
    for field, pair in sorted((entry.changes_dict or {}).items()):
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            continue
        old, new = (str(v) for v in pair)
        if old in _EMPTY and (new in _EMPTY or new.endswith(".None")):
            continue
        label, is_person = _field_words(model, field)
        if is_person:
            old, new = (users.get(v, v) for v in (old, new))
        old, new = (_MICROSECONDS.sub(r"\1", v) for v in (old, new))
        changes.append((label, old, new))
    return changes


def _field_words(model, field: str) -> tuple[str, bool]:
    """The field's verbose name, and whether it points at a person."""
    try:
        model_field = model._meta.get_field(field) if model else None
    except FieldDoesNotExist:
        model_field = None
    if model_field is None:
        return field.replace("_", " "), False
    label = str(getattr(model_field, "verbose_name", field))
    related = getattr(model_field, "related_model", None)
    return label, related is not None and related is get_user_model()


def entry_row(entry, users: dict[str, str]) -> dict:
    """One entry as the audit page lists it: a summary or the changes in words."""
    data = entry.additional_data or {}
    # An app that labels its entries with a one-line summary (alerts) says what the
    # object is in words; the field dump would only repeat it in column names.
    summary = data.get("summary", "")
    return {
        "entry": entry,
        "summary": summary,
        "changes": [] if summary else visible_changes(entry, users),
        "action": entry_action(entry),
        "action_key": data.get("action", ""),
        "by": entry_by(entry),
        "account": data.get("account", ""),
    }

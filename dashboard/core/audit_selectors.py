"""Reads of the audit trail."""

from __future__ import annotations

from dataclasses import dataclass

from auditlog.models import LogEntry


@dataclass(frozen=True)
class AuditPage:
    entries: list[LogEntry]
    # The id to pass as ``before`` for the next (older) page, or None at the end.
    older: int | None


def audit_page(*, before: int | None, page_size: int) -> AuditPage:
    """Newest entries first, strictly older than ``before`` (keyset: no OFFSET)."""
    entries = LogEntry.objects.select_related("actor", "content_type").order_by("-id")
    if before:
        entries = entries.filter(id__lt=before)
    rows = list(entries[: page_size + 1])
    older = rows[page_size - 1].id if len(rows) > page_size else None
    return AuditPage(entries=rows[:page_size], older=older)

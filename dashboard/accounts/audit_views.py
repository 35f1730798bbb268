"""The audit trail: who changed which account or credential, and how."""

from __future__ import annotations

import csv
import json
import re

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import FieldDoesNotExist
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from dashboard.accounts.audit_forms import AuditFilterForm
from dashboard.accounts.audit_selectors import (
    audit_entries,
    audit_page,
    entry_action,
    entry_by,
    entry_people,
)
from dashboard.core.params import parse_id
from dashboard.core.roles import perm

PAGE_SIZE = 50
FILTER_FIELDS = ("actor", "account", "action", "since", "until")


def _filter_query(request: HttpRequest) -> str:
    """The filters as a query string (no ``before``), to carry into paging and export."""
    query = request.GET.copy()
    for key in list(query):
        if key not in FILTER_FIELDS or not query.get(key):
            del query[key]
    return query.urlencode()


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


def _row(entry, users: dict[str, str]) -> dict:
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


@require_GET
@permission_required(perm("view_audit"), raise_exception=True)
def audit_list(request: HttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET or None)
    page = audit_page(
        before=parse_id(request.GET.get("before", "")),
        page_size=PAGE_SIZE,
        filters=form.filters(),
    )
    users = entry_people(page.entries)
    return render(
        request,
        "accounts/audit_list.html",
        {
            "form": form,
            "rows": [_row(e, users) for e in page.entries],
            "older": page.older,
            "filter_query": _filter_query(request),
            "filtered": any(request.GET.get(k) for k in FILTER_FIELDS),
        },
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value) -> str:
    # Spreadsheets run cells that start with these as formulas (CSV injection).
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@require_GET
@permission_required(perm("view_audit"), raise_exception=True)
@permission_required(perm("export_data"), raise_exception=True)
def audit_export(request: HttpRequest) -> StreamingHttpResponse:
    """The filtered trail as CSV, newest first (streamed; every matching entry)."""
    form = AuditFilterForm(request.GET or None)
    entries = audit_entries(form.filters())
    writer = csv.writer(_Echo())

    def rows():
        yield writer.writerow(
            [
                "id",
                "timestamp",
                "who",
                "action",
                "account",
                "object_type",
                "object_id",
                "object",
                "changes",
            ]
        )
        for entry in entries.iterator(chunk_size=500):
            yield writer.writerow(
                [
                    _cell(v)
                    for v in (
                        entry.pk,
                        entry.timestamp.isoformat(),
                        entry_by(entry),
                        (entry.additional_data or {}).get("action") or entry.get_action_display(),
                        (entry.additional_data or {}).get("account", ""),
                        entry.content_type.model,
                        entry.object_pk,
                        (entry.additional_data or {}).get("summary") or entry.object_repr,
                        json.dumps(
                            {f: [old, new] for f, old, new in visible_changes(entry)},
                            sort_keys=True,
                        ),
                    )
                ]
            )

    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    return response

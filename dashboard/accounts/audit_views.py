"""The audit trail: who changed which account or credential, and how."""

from __future__ import annotations

import csv
import json

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from dashboard.accounts.audit_forms import AuditFilterForm
from dashboard.accounts.audit_selectors import (
    audit_entries,
    audit_page,
    entry_by,
    entry_people,
    entry_row,
    visible_changes,
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
            "rows": [entry_row(e, users) for e in page.entries],
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

"""The preview grid: one slot, personas x locales, cells filling in as tasks finish."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dashboard.core.htmx import render_polled
from dashboard.core.params import parse_id
from dashboard.core.roles import perm

from . import rendering, selectors, services
from .forms import GridForm, add_input_errors
from .models import PreviewGrid, PreviewRequest
from .services import VisitorInputError


@require_http_methods(["GET", "POST"])
@permission_required(perm("view_previews"), raise_exception=True)
def grid_new(request: HttpRequest) -> HttpResponse:
    """GET: recent grids and (for marketers) the form; POST (use_preview): build one."""
    can_use = request.user.has_perm(perm("use_preview"))
    if request.method == "POST" and not can_use:
        raise PermissionDenied
    form = (
        GridForm(
            request.POST if request.method == "POST" else None, initial={"locales": "en, pt-br"}
        )
        if can_use
        else None
    )
    if request.method == "POST" and form.is_valid():
        try:
            grid = services.grid_create(
                account=form.cleaned_data["account"],
                slot_id=form.cleaned_data["slot_id"],
                version=form.cleaned_data["version"],
                include_schema=form.cleaned_data["include_schema"],
                personas=list(form.cleaned_data["personas"]),
                locales=form.locale_list(),
                actor=request.user,
            )
        except VisitorInputError as exc:
            add_input_errors(form, exc)
        else:
            return redirect("previews:grid", pk=grid.pk)
    return render(
        request,
        "previews/grid_new.html",
        {
            "form": form,
            "can_use": can_use,
            "grids": selectors.recent_grids(),
            "has_personas": selectors.personas().exists(),
        },
        status=422 if request.method == "POST" else 200,
    )


def grid_context(grid: PreviewGrid) -> dict:
    cells = selectors.grid_cells(grid)
    baseline = next((c for c in cells if c.pk == grid.baseline_id), None)
    by_key: dict[tuple[str, str], PreviewRequest] = {}
    for cell in cells:
        by_key[(cell.persona_name, cell.locale)] = cell
    rows = []
    for name in grid.persona_names:
        row = []
        for locale in grid.locales:
            cell = by_key.get((name, locale))
            differs = (
                cell is not None
                and baseline is not None
                and cell.pk != baseline.pk
                and cell.is_done
                and baseline.is_done
                and rendering.differs(cell.result, baseline.result)
            )
            row.append(
                {
                    "cell": cell,
                    "differs": differs,
                    "headline": rendering.headline(cell.result) if cell else "",
                }
            )
        rows.append({"persona": name, "cells": row})
    done = sum(1 for c in cells if c.is_done)
    return {
        "grid": grid,
        "rows": rows,
        "id_labels": selectors.labels_for_previews(cells),
        "baseline": baseline,
        "done": done,
        "total": len(cells),
        "finished": done == len(cells),
        "differing": sum(1 for r in rows for c in r["cells"] if c["differs"]),
    }


@require_GET
@permission_required(perm("view_previews"), raise_exception=True)
def grid_detail(request: HttpRequest, pk: int) -> HttpResponse:
    grid = get_object_or_404(PreviewGrid.objects.select_related("account", "created_by"), pk=pk)
    context = grid_context(grid)
    context["can_use"] = request.user.has_perm(perm("use_preview"))
    return render(request, "previews/grid.html", context)


@require_GET
@permission_required(perm("view_previews"), raise_exception=True)
def grid_cells(request: HttpRequest, pk: int) -> HttpResponse:
    grid = get_object_or_404(PreviewGrid.objects.select_related("account"), pk=pk)
    context = grid_context(grid)
    context["can_use"] = request.user.has_perm(perm("use_preview"))
    return render_polled(request, "previews/grid.html#cells", context, done=context["finished"])


@require_POST
@permission_required(perm("use_preview"), raise_exception=True)
def grid_baseline(request: HttpRequest, pk: int) -> HttpResponse:
    grid = get_object_or_404(PreviewGrid, pk=pk)
    cell_id = parse_id(request.POST.get("cell", ""))
    cell = get_object_or_404(PreviewRequest, pk=cell_id, grid=grid) if cell_id else None
    if cell is not None:
        services.grid_set_baseline(grid=grid, cell=cell)
    return redirect("previews:grid", pk=grid.pk)

"""The CQL playground: a query evaluated with a persona's context by a task."""

from __future__ import annotations

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from dashboard.core.htmx import render_polled
from dashboard.core.roles import perm

from . import selectors, services
from .forms import CqlForm, add_input_errors
from .models import CqlEvaluation
from .views import _time_zones


def query_marks(evaluation: CqlEvaluation) -> list[dict]:
    """Each CQL error with the query cut around its location (line/column from Croct's
    ``errors[].location``); an error without a usable location is listed unmarked."""
    problem = evaluation.problem or {}
    query = evaluation.query
    marks = []
    for detail in problem.get("details") or []:
        location = detail.get("location") if isinstance(detail, dict) else None
        start = (location or {}).get("start") or {}
        end = (location or {}).get("end") or {}
        mark = {
            "cause": detail.get("cause", ""),
            "line": start.get("line"),
            "column": start.get("column"),
        }
        begin, stop = start.get("index"), end.get("index")
        if isinstance(begin, int) and 0 <= begin <= len(query):
            if not isinstance(stop, int) or stop <= begin:
                stop = begin + 1
            stop = min(stop, len(query))
            mark.update(before=query[:begin], marked=query[begin:stop] or " ", after=query[stop:])
        marks.append(mark)
    return marks


def _evaluation_context(evaluation: CqlEvaluation) -> dict:
    return {"evaluation": evaluation, "marks": query_marks(evaluation)}


@require_GET
@permission_required(perm("view_previews"), raise_exception=True)
def playground(request: HttpRequest) -> HttpResponse:
    can_use = request.user.has_perm(perm("use_preview"))
    return render(
        request,
        "previews/cql.html",
        {
            "form": CqlForm() if can_use else None,
            "can_use": can_use,
            "recent": selectors.recent_evaluations(),
            "time_zones": _time_zones(),
        },
    )


@require_POST
@permission_required(perm("use_preview"), raise_exception=True)
def playground_run(request: HttpRequest) -> HttpResponse:
    form = CqlForm(request.POST)
    evaluation = None
    if form.is_valid():
        try:
            evaluation = services.evaluation_create(
                account=form.cleaned_data["account"],
                query=form.cleaned_data["query"],
                visitor=form.visitor,
                actor=request.user,
            )
        except services.VisitorInputError as exc:
            add_input_errors(form, exc)
    if evaluation is not None and not request.htmx:
        return redirect("previews:cql_result", pk=evaluation.pk)
    context = {"form": form, "can_use": True, "time_zones": _time_zones()}
    if evaluation is not None:
        context.update(_evaluation_context(evaluation))
    if request.htmx:
        return render(request, "previews/cql.html#workbench", context)
    context["recent"] = selectors.recent_evaluations()
    return render(request, "previews/cql.html", context, status=422)


@require_GET
@permission_required(perm("view_previews"), raise_exception=True)
def playground_result(request: HttpRequest, pk: int) -> HttpResponse:
    evaluation = get_object_or_404(CqlEvaluation.objects.select_related("account"), pk=pk)
    if not request.htmx:
        return render(request, "previews/cql_result.html", _evaluation_context(evaluation))
    context = _evaluation_context(evaluation)
    if evaluation.is_done:
        # The finished evaluation joins Recent evaluations: that panel is swapped too.
        context.update(oob=True, recent=selectors.recent_evaluations())
    return render_polled(request, "previews/cql.html#evaluation", context, done=evaluation.is_done)

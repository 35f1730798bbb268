"""Personas: shared visitor presets (list, create, edit, delete)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dashboard.core.roles import perm

from . import selectors, services
from .forms import PersonaForm, add_input_errors
from .models import Persona
from .services import VisitorInputError
from .views import _time_zones


@require_GET
@permission_required(perm("view_previews"), raise_exception=True)
def persona_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "previews/personas.html",
        {
            "personas": selectors.personas().select_related("updated_by"),
            "can_use": request.user.has_perm(perm("use_preview")),
        },
    )


@require_http_methods(["GET", "POST"])
@permission_required(perm("use_preview"), raise_exception=True)
def persona_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    persona = get_object_or_404(Persona, pk=pk) if pk is not None else None
    initial = PersonaForm.initial_for(persona) if persona else {}
    form = PersonaForm(
        request.POST if request.method == "POST" else None, initial=initial, persona=persona
    )
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.persona_save(
                persona=persona,
                name=form.cleaned_data["name"],
                description=form.cleaned_data["description"],
                context=form.context,
                identity_mode=form.cleaned_data["identity_mode"],
                identity_value=form.cleaned_data["identity_value"],
                client_id=form.cleaned_data["client_id"],
                client_ip=form.cleaned_data["client_ip"],
                client_agent=form.cleaned_data["client_agent"],
                actor=request.user,
            )
        except VisitorInputError as exc:
            add_input_errors(form, exc)
        else:
            messages.success(request, f"Saved persona {saved.name}.")
            return redirect("previews:personas")
    return render(
        request,
        "previews/persona_form.html",
        {"form": form, "persona": persona, "time_zones": _time_zones()},
        status=422 if request.method == "POST" else 200,
    )


@require_POST
@permission_required(perm("use_preview"), raise_exception=True)
def persona_delete(request: HttpRequest, pk: int) -> HttpResponse:
    persona = get_object_or_404(Persona, pk=pk)
    services.persona_delete(persona=persona, actor=request.user)
    messages.success(request, f"Deleted persona {persona.name}; its previews keep their context.")
    return redirect("previews:personas")

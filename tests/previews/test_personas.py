"""Personas: marketers create, edit and delete shared visitor presets."""

from __future__ import annotations

from django.urls import reverse

from dashboard.previews.models import Persona
from dashboard.previews.services import preview_create, visitor_for


def persona_data(**fields) -> dict:
    data = {
        "name": "Brazil pro",
        "description": "Pro plan, browsing from São Paulo",
        "time_zone": "America/Sao_Paulo",
        "page_url": "https://shop.example/pricing",
        "campaign_source": "newsletter",
        "attributes": "plan=pro\ncompany.size=50",
        "identity_mode": "client_id",
        "identity_value": "",
    }
    data.update(fields)
    return data


def test_a_marketer_creates_a_persona_from_the_visitor_fields(db, marketer, client_for):
    client = client_for(marketer)

    response = client.post(reverse("previews:persona_new"), persona_data())

    assert response.status_code == 302
    persona = Persona.objects.get()
    assert persona.context == {
        "timeZone": "America/Sao_Paulo",
        "page": {"url": "https://shop.example/pricing"},
        "campaign": {"source": "newsletter"},
        "attributes": {"plan": "pro", "company": {"size": 50}},
    }
    assert persona.created_by == marketer
    listing = client.get(reverse("previews:personas")).content.decode()
    assert 'data-name="Brazil pro"' in listing
    assert "America/Sao_Paulo" in listing


def test_editing_shows_the_stored_context_and_saves_changes(db, marketer, client_for):
    client = client_for(marketer)
    client.post(reverse("previews:persona_new"), persona_data())
    persona = Persona.objects.get()

    form = client.get(reverse("previews:persona_edit", args=[persona.pk])).content.decode()
    assert "plan=pro\ncompany.size=50" in form
    assert 'value="America/Sao_Paulo"' in form

    client.post(
        reverse("previews:persona_edit", args=[persona.pk]),
        persona_data(attributes="plan=free", identity_mode="user_id", identity_value="u-7"),
    )
    persona.refresh_from_db()
    assert persona.context["attributes"] == {"plan": "free"}
    assert (persona.identity_mode, persona.identity_value) == ("user_id", "u-7")
    assert persona.updated_by == marketer


def test_a_taken_name_and_an_attribute_over_the_limit_are_form_errors(db, marketer, client_for):
    client = client_for(marketer)
    client.post(reverse("previews:persona_new"), persona_data())

    response = client.post(
        reverse("previews:persona_new"),
        persona_data(name="brazil PRO", attributes="plan.tier=" + "x" * 51),
    )

    html = response.content.decode()
    assert response.status_code == 422
    assert "attributes.plan.tier: string has 51 characters" in html
    assert Persona.objects.count() == 1
    response = client.post(reverse("previews:persona_new"), persona_data(name="brazil PRO"))
    assert "a persona named &#x27;brazil PRO&#x27; already exists" in response.content.decode()


def test_deleting_a_persona_keeps_the_previews_made_with_it(db, marketer, client_for, croct):
    client = client_for(marketer)
    client.post(reverse("previews:persona_new"), persona_data())
    persona = Persona.objects.get()
    preview = preview_create(
        account=croct, slot_id="home-hero", visitor=visitor_for(persona=persona), enqueue=False
    )

    response = client.post(reverse("previews:persona_delete", args=[persona.pk]))

    assert response.status_code == 302
    assert not Persona.objects.exists()
    preview.refresh_from_db()
    assert preview.persona is None
    assert preview.persona_name == "Brazil pro"
    assert preview.context["attributes"]["plan"] == "pro"


def test_a_preview_lays_ad_hoc_fields_over_the_persona(db, croct):
    from dashboard.previews.services import persona_save

    persona = persona_save(
        name="Pro",
        context={"attributes": {"plan": "pro"}, "campaign": {"source": "ads"}},
        identity_mode="client_id",
        identity_value="3f1d2c4b-5a6e-4f70-8192-a3b4c5d6e7f8",
    )

    visitor = visitor_for(
        persona=persona,
        context={"attributes": {"seats": 5}, "timeZone": "Europe/Lisbon"},
    )

    assert visitor.context == {
        "attributes": {"plan": "pro", "seats": 5},
        "campaign": {"source": "ads"},
        "timeZone": "Europe/Lisbon",
    }
    assert visitor.identity_mode == "client_id"

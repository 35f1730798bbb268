"""Who a preview stands for, as Croct sees it: a persona is one visitor (one persistent
X-Client-Id), an ad-hoc visitor is new each run or a fixed id typed as is, and the
visitor's IP and user agent reach content and evaluate (docs/contract.md, Croct rows
"X-Client-Id persistent across sessions" and "X-Client-Ip and X-Client-Agent")."""

from __future__ import annotations

import pytest
from django.apps import apps as django_apps
from django.urls import reverse

from dashboard.calls.models import ApiCall
from dashboard.previews.models import Persona
from dashboard.previews.services import grid_create
from tests.previews.conftest import poll_until_done, preview_form, submit_preview
from tests.previews.test_cql import evaluate

pytestmark = pytest.mark.worker

HEX_ID = "3f1d2c4b5a6e4f708192a3b4c5d6e7f8"
BRAZIL_IP = "177.71.128.1"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
)


def sent_client_ids(account, operation="croct.content") -> list[str]:
    calls = ApiCall.objects.filter(account=account, operation=operation).order_by("pk")
    return [call.request_headers.get("X-Client-Id") for call in calls]


def test_x_client_id_persistent_across_sessions_for_a_persona(
    celery_worker, croct, marketer, client_for, make_persona
):
    client = client_for(marketer)
    pro = make_persona("Pro", {"attributes": {"plan": "pro"}})
    assert pro.client_id  # drawn once, at creation

    _, first_html, first = submit_preview(client, croct, persona=pro.pk)
    _, _, second = submit_preview(client, croct, persona=pro.pk, locale="pt-br")
    rerun = client.post(reverse("previews:rerun", args=[first.pk]))
    assert rerun.status_code == 302
    again = first.reruns.get()
    poll_until_done(client, reverse("previews:result", args=[again.pk]))
    grid = grid_create(
        account=croct, slot_id="home-hero", personas=[pro], locales=["en", "es"], actor=marketer
    )
    poll_until_done(client, reverse("previews:grid_cells", args=[grid.pk]))

    # Two previews, a re-run and both grid cells: five calls, one visitor.
    assert sent_client_ids(croct) == [pro.client_id] * 5
    assert {first.client_id, second.client_id} == {pro.client_id}
    assert "the persona's, the same on every run" in first_html


def test_a_persona_client_id_is_editable_and_any_uuid_form_is_kept_as_typed(
    db, marketer, client_for
):
    client = client_for(marketer)
    form = client.get(reverse("previews:persona_new")).content.decode()
    assert 'name="client_id"' in form
    data = {"name": "Hex", "identity_mode": "client_id", "client_id": HEX_ID.upper()}

    assert client.post(reverse("previews:persona_new"), data).status_code == 302
    persona = Persona.objects.get()
    assert persona.client_id == HEX_ID.upper()

    # An edit that leaves the field alone keeps the id: the persona stays one visitor.
    edit = client.get(reverse("previews:persona_edit", args=[persona.pk])).content.decode()
    assert f'value="{HEX_ID.upper()}"' in edit
    client.post(reverse("previews:persona_edit", args=[persona.pk]), {**data, "name": "Hex 2"})
    persona.refresh_from_db()
    assert (persona.name, persona.client_id) == ("Hex 2", HEX_ID.upper())


def test_a_fixed_ad_hoc_client_id_is_sent_as_typed(celery_worker, croct, marketer, client_for):
    _, done, preview = submit_preview(
        client_for(marketer), croct, identity_mode="client_id", identity_value=HEX_ID
    )

    assert preview.status == "done"
    assert sent_client_ids(croct) == [HEX_ID]
    assert preview.client_id == HEX_ID
    assert f'As client id <span class="mono">{HEX_ID}</span>' in done


def test_a_new_visitor_gets_a_fresh_client_id_each_run_and_says_so(
    celery_worker, croct, marketer, client_for
):
    client = client_for(marketer)

    _, done, first = submit_preview(client, croct, identity_mode="random")
    _, _, second = submit_preview(client, croct, identity_mode="random")
    client.post(reverse("previews:rerun", args=[first.pk]))
    again = first.reruns.get()
    poll_until_done(client, reverse("previews:result", args=[again.pk]))

    ids = sent_client_ids(croct)
    assert len(set(ids)) == 3
    assert all(ids)
    assert "As a new visitor" in done
    assert first.client_id in done
    detail = client.get(reverse("previews:detail", args=[first.pk])).content.decode()
    assert "a re-run is another new visitor" in detail


def test_x_client_ip_and_x_client_agent_reach_content_and_evaluate(
    celery_worker, croct, sandbox, marketer, client_for, make_persona
):
    client = client_for(marketer)
    visitors = sandbox["croct"].app.visitors

    submit_preview(client, croct, client_ip=BRAZIL_IP, client_agent=IPHONE)
    assert visitors[-1]["ip"] == BRAZIL_IP
    assert visitors[-1]["agent"] == IPHONE
    evaluation, _ = evaluate(client, croct, "true", client_ip=BRAZIL_IP, client_agent=IPHONE)
    assert evaluation.status == "done"
    assert (visitors[-1]["ip"], visitors[-1]["agent"]) == (BRAZIL_IP, IPHONE)
    call = ApiCall.objects.filter(operation="croct.evaluate").get()
    assert call.request_headers["X-Client-Ip"] == BRAZIL_IP

    # A persona carries its own; the CQL playground sends them too.
    mobile = make_persona("Brazil on an iPhone")
    mobile.client_ip, mobile.client_agent = "2804:14c::1", IPHONE
    mobile.save()
    evaluation, _ = evaluate(client, croct, "true", persona=mobile.pk)
    assert (visitors[-1]["ip"], visitors[-1]["agent"]) == ("2804:14c::1", IPHONE)
    assert evaluation.client_id == mobile.client_id
    assert sent_client_ids(croct, "croct.evaluate")[-1] == mobile.client_id


def test_without_ip_and_agent_croct_takes_the_consoles_and_the_help_says_so(
    celery_worker, croct, sandbox, marketer, client_for
):
    client = client_for(marketer)
    page = client.get(reverse("previews:index")).content.decode()
    assert "Croct takes the console server's address and agent" in page

    submit_preview(client, croct)

    call = ApiCall.objects.get(account=croct)
    assert "X-Client-Ip" not in call.request_headers
    assert "X-Client-Agent" not in call.request_headers
    assert sandbox["croct"].app.visitors[-1]["agent"].startswith("python-requests")


def test_a_bad_ip_and_agent_are_field_errors_with_every_typed_value_kept(
    db, croct, marketer, client_for
):
    response = client_for(marketer).post(
        reverse("previews:submit"),
        preview_form(
            croct,
            slot_id="home hero",
            locale="nope!",
            client_ip="300.1.2.3",
            client_agent="x" * 256,
            identity_mode="client_id",
            identity_value="not-a-uuid",
            page_url="https://shop.example/pricing",
        ),
    )

    html = response.content.decode()
    assert response.status_code == 422
    assert "&#x27;300.1.2.3&#x27; is not an IP address" in html
    assert "one printable line of at most 255 characters" in html
    assert "a UUID, with or without dashes" in html
    assert "UUID v4" not in html
    assert "a slot id has no spaces" in html
    for typed in ("300.1.2.3", "x" * 256, "not-a-uuid", "home hero", "nope!"):
        assert f'value="{typed}"' in html
    assert 'value="https://shop.example/pricing"' in html
    assert not ApiCall.objects.exists()


def test_a_persona_form_shows_every_error_at_once_and_keeps_the_values(
    db, marketer, client_for, make_persona
):
    make_persona("Taken")

    response = client_for(marketer).post(
        reverse("previews:persona_new"),
        {
            "name": "taken",
            "identity_mode": "user_id",
            "identity_value": "",
            "client_id": "zz",
            "client_ip": "brazil",
            "client_agent": "Safari",
            "time_zone": "Mars/Olympus",
        },
    )

    html = response.content.decode()
    assert response.status_code == 422
    for message in (
        "a persona named &#x27;taken&#x27; already exists",
        "enter the user id",
        "a client id is a UUID, with or without dashes",
        "&#x27;brazil&#x27; is not an IP address",
        "Mars/Olympus",
    ):
        assert message in html
    for typed in ("taken", "zz", "brazil", "Safari", "Mars/Olympus"):
        assert f'value="{typed}"' in html
    assert Persona.objects.count() == 1


def test_the_migration_gives_each_existing_persona_its_own_client_id(db):
    from importlib import import_module

    migration = import_module("dashboard.previews.migrations.0003_visitor_identity")
    fixed = Persona.objects.create(name="Fixed", client_id="", identity_mode="client_id")
    fixed.identity_value = HEX_ID
    fixed.save()
    Persona.objects.create(name="Random A", client_id="", identity_mode="random")
    Persona.objects.create(name="Random B", client_id="", identity_mode="random")
    Persona.objects.create(name="User", client_id="", identity_mode="user_id", identity_value="u-1")

    migration.give_each_persona_one_visitor(django_apps, None)

    personas = {p.name: p for p in Persona.objects.all()}
    assert personas["Fixed"].client_id == HEX_ID
    assert personas["Fixed"].identity_value == ""
    assert personas["Random A"].identity_mode == "client_id"
    ids = [p.client_id for p in personas.values()]
    assert all(ids)
    assert len(set(ids)) == 4
    assert (personas["User"].identity_mode, personas["User"].identity_value) == ("user_id", "u-1")

"""Labels: a name for an experience, audience, experiment or variant id, given once and
shown everywhere the id is (result, grid, history, diff), the id one click away."""

from __future__ import annotations

import re

import pytest
from auditlog.models import LogEntry
from django.urls import reverse

from dashboard.previews import selectors, services
from dashboard.previews.models import Label
from dashboard.previews.services import VisitorInputError
from dashboard.previews.templatetags.labels import label_key

BRAZIL = {"timeZone": "America/Sao_Paulo"}


def run_preview(account, context=None, **fields):
    """Created and run in-process against the sandbox (as preview_slot does)."""
    preview = services.preview_create(
        account=account,
        slot_id="home-hero",
        visitor=services.visitor_for(context=context or {}),
        enqueue=False,
        **fields,
    )
    return services.preview_run(preview_id=preview.pk)


@pytest.fixture
def served(croct):
    """A Brazil visitor's preview: an experience with a running experiment."""
    preview = run_preview(croct, BRAZIL)
    assert preview.result["variant_id"], preview.result
    return preview


# --- the service ------------------------------------------------------------------------
def test_naming_then_renaming_an_id_keeps_one_label_and_audits_each_step(db, croct, marketer):
    saved = services.label_save(
        account=croct, kind="variant", target_id="v-1", name="  B:  free shipping ", actor=marketer
    )
    assert saved.created
    assert saved.label.name == "B: free shipping"
    assert saved.sentence == "Named the variant ‘B: free shipping’."

    again = services.label_save(
        account=croct, kind="variant", target_id="v-1", name="B: frete grátis", actor=marketer
    )
    assert not again.created
    assert again.sentence == "Renamed the variant ‘B: free shipping’ to ‘B: frete grátis’."
    assert Label.objects.count() == 1

    sentence = services.label_remove(label=again.label, actor=marketer)
    assert "shows its id again" in sentence
    entries = LogEntry.objects.filter(content_type__model="label").order_by("id")
    assert [e.additional_data["action"] for e in entries] == [
        "label_name",
        "label_rename",
        "label_remove",
    ]
    assert {e.actor_id for e in entries} == {marketer.pk}
    assert all(e.additional_data["account_id"] == croct.pk for e in entries)


def test_one_name_per_account_kind_and_id(db, croct, demo_account):
    other = demo_account("croct", name="Other shop")
    services.label_save(account=croct, kind="variant", target_id="x-1", name="A")
    services.label_save(account=croct, kind="experiment", target_id="x-1", name="Test")
    services.label_save(account=other, kind="variant", target_id="x-1", name="Elsewhere")
    assert Label.objects.count() == 3
    assert selectors.labels_for(croct.pk, ["x-1"]).get(other.pk, "x-1") is None
    assert selectors.labels_for(other.pk, ["x-1"]).get(other.pk, "x-1").name == "Elsewhere"


@pytest.mark.parametrize(
    ("fields", "field", "fragment"),
    [
        ({"name": "Pro\x00upsell"}, "name", "NUL character"),
        ({"name": "   "}, "name", "give the name"),
        ({"name": "n" * 81}, "name", "at most 80 characters (this one has 81)"),
        ({"kind": "segment"}, "kind", "must be one of"),
        ({"target_id": "has space"}, "target_id", "an id has letters"),
        ({"target_id": "x" * 121}, "target_id", "at most 120"),
        ({"target_id": "<script>"}, "target_id", "an id has letters"),
    ],
)
def test_bad_labels_are_refused_with_a_sentence(db, croct, fields, field, fragment):
    data = {"kind": "variant", "target_id": "v-1", "name": "Fine", **fields}
    with pytest.raises(VisitorInputError) as raised:
        services.label_save(account=croct, **data)
    assert fragment in raised.value.errors[field]
    assert not Label.objects.exists()


def test_only_accounts_that_preview_have_ids_to_name(db, demo_account):
    octy = demo_account("octy")
    with pytest.raises(VisitorInputError) as raised:
        services.label_save(account=octy, kind="variant", target_id="v-1", name="B")
    assert "does not preview slots" in raised.value.errors["account"]


# --- naming in place --------------------------------------------------------------------
def test_an_unknown_id_offers_name_this_and_the_save_renames_every_occurrence(
    db, served, marketer, client_for
):
    client = client_for(marketer)
    variant = served.result["variant_id"]
    detail = client.get(reverse("previews:detail", args=[served.pk])).content.decode()
    assert 'data-testid="name-this"' in detail
    assert f'data-label-key="{label_key("variant", variant)}"' in detail

    form = client.get(
        reverse("previews:label"),
        {"account": served.account_id, "kind": "variant", "id": variant, "edit": "1"},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert 'data-testid="label-form"' in form
    assert 'hx-target="#label-status"' in form

    response = client.post(
        reverse("previews:label_save"),
        {
            "account": served.account_id,
            "kind": "variant",
            "target_id": variant,
            "name": "B: free shipping",
        },
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert "Named the variant ‘B: free shipping’." in html
    # Out of band, every element of the page that shows this id is replaced.
    assert f"hx-swap-oob='outerHTML:[data-label-key=\"variant-{variant}\"]'" in html
    assert 'data-testid="label-name">B: free shipping</abbr>' in html
    assert f'<code class="mono small" data-testid="label-id">{variant}</code>' in html


def test_a_refused_name_comes_back_in_the_form_as_typed_with_the_reason(
    db, served, marketer, client_for
):
    variant = served.result["variant_id"]
    response = client_for(marketer).post(
        reverse("previews:label_save"),
        {"account": served.account_id, "kind": "variant", "target_id": variant, "name": "x" * 90},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200  # htmx swaps 2xx only
    form_id = re.search(r'<form class="id-label label-form" id="([^"]+)"', html).group(1)
    assert response["HX-Retarget"] == f"#{form_id}"
    assert response["HX-Reswap"] == "outerHTML"
    assert "at most 80 characters (this one has 90)" in html
    assert 'value="' + "x" * 90 + '"' in html
    assert not Label.objects.exists()


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("Pro\x00upsell", "Null characters are not allowed."),
        ("x" * 5000, "at most 200 characters"),
    ],
)
def test_hostile_names_get_a_sentence_not_a_crash(db, served, marketer, client_for, name, reason):
    response = client_for(marketer).post(
        reverse("previews:label_save"),
        {
            "account": served.account_id,
            "kind": "variant",
            "target_id": served.result["variant_id"],
            "name": name,
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert reason in response.content.decode()
    assert "HX-Retarget" in response
    assert not Label.objects.exists()


def test_without_htmx_a_save_goes_to_the_names_page_with_the_sentence(
    db, served, marketer, client_for
):
    client = client_for(marketer)
    response = client.post(
        reverse("previews:label_save"),
        {
            "account": served.account_id,
            "kind": "experience",
            "target_id": served.result["experience_id"],
            "name": "Brazil welcome",
        },
        follow=True,
    )
    html = response.content.decode()
    assert "Named the experience ‘Brazil welcome’." in html
    assert 'data-testid="label-row"' in html


def test_support_sees_names_but_cannot_name(db, served, support, client_for):
    services.label_save(
        account=served.account, kind="variant", target_id=served.result["variant_id"], name="B"
    )
    html = client_for(support).get(reverse("previews:detail", args=[served.pk])).content.decode()
    assert 'data-testid="label-name">B</abbr>' in html
    assert "name this" not in html
    assert "rename</button>" not in html


def test_an_account_id_beyond_any_row_is_not_found(db, croct, marketer, client_for):
    for account in (str(2**70), "-1", "1e3", ""):
        response = client_for(marketer).post(
            reverse("previews:label_save"),
            {"account": account, "kind": "variant", "target_id": "v-1", "name": "B"},
            HTTP_HX_REQUEST="true",
        )
        assert response.status_code == 404, account
    assert not Label.objects.exists()


def test_the_label_fragment_refuses_what_is_not_an_id(db, croct, marketer, client_for):
    client = client_for(marketer)
    for query in (
        {"account": croct.pk, "kind": "variant", "id": "a b"},
        {"account": croct.pk, "kind": "nope", "id": "v1"},
        {"account": "0", "kind": "variant", "id": "v1"},
        {"account": "987654321", "kind": "variant", "id": "v1"},
    ):
        assert client.get(reverse("previews:label"), query).status_code == 404, query


# --- the name shows everywhere the id does ----------------------------------------------
def test_names_show_on_the_result_grid_history_and_diff(
    db, croct, marketer, client_for, make_persona
):
    brazil = make_persona("Brazil", BRAZIL)
    anonymous = make_persona("Anonymous", {})
    grid = services.grid_create(
        account=croct, slot_id="home-hero", personas=[brazil, anonymous], locales=["en"]
    )
    cells = list(grid.cells.order_by("id"))
    for cell in cells:
        # In-process instead of a worker: the grid's cells are the same preview rows.
        services.preview_run(preview_id=cell.pk)
        cell.refresh_from_db()
    served = next(c for c in cells if c.persona_name == "Brazil")
    result = served.result
    for kind, name in (
        ("experience", "Brazil welcome"),
        ("audience", "Brazil shoppers"),
        ("experiment", "Free-shipping test"),
        ("variant", "B: free shipping"),
    ):
        services.label_save(account=croct, kind=kind, target_id=result[f"{kind}_id"], name=name)

    client = client_for(marketer)
    pages = {
        "result": client.get(reverse("previews:detail", args=[served.pk])),
        "grid": client.get(reverse("previews:grid", args=[grid.pk])),
        "history": client.get(reverse("previews:history")),
        "diff": client.get(reverse("previews:diff"), {"a": cells[1].pk, "b": served.pk}),
    }
    for where, response in pages.items():
        html = response.content.decode()
        assert response.status_code == 200, where
        assert ">B: free shipping</abbr>" in html, where
        assert ">Brazil welcome</abbr>" in html, where
        # The id stays one click away: inside the name's <details>.
        assert f'data-testid="label-id">{result["variant_id"]}</code>' in html, where
    result_html = pages["result"].content.decode()
    assert ">Brazil shoppers</abbr>" in result_html
    assert ">Free-shipping test</abbr>" in result_html


def test_history_finds_labels_with_one_query_per_account(
    db, croct, served, django_assert_max_num_queries, marketer, client_for
):
    for _ in range(5):
        run_preview(croct, BRAZIL)
    previews = list(selectors.preview_history()[:50])
    with django_assert_max_num_queries(1):
        book = selectors.labels_for_previews(previews)
    assert len(book) == 0


def test_the_names_page_lists_renames_and_removes(db, croct, marketer, client_for):
    saved = services.label_save(account=croct, kind="audience", target_id="a-1", name="Brazil")
    client = client_for(marketer)
    html = client.get(reverse("previews:labels"), {"q": "braz"}).content.decode()
    assert 'data-id="a-1"' in html
    response = client.post(
        reverse("previews:label_save"),
        {"account": croct.pk, "kind": "audience", "target_id": "a-1", "name": "Brazil shoppers"},
        follow=True,
    )
    assert "Renamed the audience ‘Brazil’ to ‘Brazil shoppers’." in response.content.decode()
    response = client.post(reverse("previews:label_delete", args=[saved.label.pk]), follow=True)
    assert "Removed the name ‘Brazil shoppers’" in response.content.decode()
    assert not Label.objects.exists()


def test_the_tags_a_share_page_uses_show_names_without_naming(db, served, rf, marketer):
    from django.template import Context, Template

    variant = served.result["variant_id"]
    services.label_save(account=served.account, kind="variant", target_id=variant, name="B")
    experience = served.result["experience_id"]
    request = rf.get("/")
    request.user = marketer  # may name ids, but a share page passes editable=False
    html = Template(
        "{% load labels %}"
        '{% id_label book account "variant" variant editable=False %}|'
        '{% id_label book account "experience" experience editable=False %}|'
        "{% label_text book account variant %}|{% label_text book account experience %}"
    ).render(
        Context(
            {
                "request": request,
                "book": selectors.labels_for(
                    served.account_id, selectors.result_ids(served.result)
                ),
                "account": served.account_id,
                "variant": variant,
                "experience": experience,
            }
        )
    )
    named, unnamed, text, raw = html.split("|")
    assert 'data-testid="label-name">B</abbr>' in named
    assert "rename" not in named
    assert experience in unnamed
    assert "name this" not in unnamed
    assert (text, raw) == ("B", experience)


def test_a_result_without_a_version_shows_no_empty_version_badge(db, croct, marketer, client_for):
    """The staff page and the public page draw what was served from one partial; a
    result Croct answered without a version gets no bare "v" badge on either."""
    from dashboard.previews.models import PreviewRequest

    preview = PreviewRequest.objects.create(
        account=croct,
        slot_id="home-hero",
        status="done",
        result={"content": {"title": "Hi"}, "source": "slot", "component": "hero@1"},
    )
    html = client_for(marketer).get(reverse("previews:detail", args=[preview.pk])).content.decode()
    badges = html.split('data-testid="source">', 1)[1].split("</p>", 1)[0]
    assert "slot default" in badges
    assert "hero@1" in badges
    assert '<span class="badge">v' not in badges

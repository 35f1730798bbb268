"""The slot catalog: what previews record, what staff add, edit and remove, the search
the forms ask, the demo seeding and ``preview_slot ACCOUNT --list``."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from auditlog.models import LogEntry
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from dashboard.previews import selectors, services
from dashboard.previews.models import CatalogSlot, SlotSource
from dashboard.previews.services.catalog import MAX_CONTENT_BYTES, bounded_content


def run_preview(account, slot_id="home-hero", **fields):
    """A preview created and run in-process against the sandbox (as preview_slot does)."""
    visitor = services.visitor_for(context=fields.pop("context", {}))
    preview = services.preview_create(
        account=account, slot_id=slot_id, visitor=visitor, enqueue=False, **fields
    )
    return services.preview_run(preview_id=preview.pk)


def add_slot(client, account, **fields):
    data = {"account": account.pk, "slot_id": "checkout-banner", "description": "", **fields}
    return client.post(reverse("previews:catalog_new"), data)


# --- what previews record ---------------------------------------------------------
def test_a_served_preview_records_its_slot_component_content_and_when(db, croct):
    preview = run_preview(croct, locale="pt-BR", version="1")
    assert preview.status == "done"

    slot = CatalogSlot.objects.get(account=croct, slot_id="home-hero")
    assert slot.added_source == SlotSource.PREVIEW
    assert slot.last_seen_source == SlotSource.PREVIEW
    assert slot.versions == ["1.1"]
    assert slot.locales == ["pt-br"]
    assert slot.component == "home-hero@1"
    assert slot.last_content == preview.result["content"]
    assert slot.last_seen_at is not None

    # Another version and locale are merged in; the component follows the last content.
    run_preview(croct, locale="es")
    slot.refresh_from_db()
    assert slot.versions == ["1.1", "2.0"]
    assert slot.locales == ["es", "pt-br"]
    assert slot.component == "home-hero@2"


def test_a_failed_preview_adds_nothing_to_the_catalog(db, croct):
    preview = run_preview(croct, slot_id="no-such-slot")
    assert preview.status == "failed"
    assert not CatalogSlot.objects.exists()


def test_a_slot_without_component_is_recorded_as_such(db, croct):
    run_preview(croct, slot_id="announcement-bar")
    assert CatalogSlot.objects.get(slot_id="announcement-bar").component == ""


def test_content_over_the_bound_keeps_a_note_instead():
    small = {"title": "Hi"}
    assert bounded_content(small) == small
    huge = {"text": "x" * (MAX_CONTENT_BYTES + 1)}
    kept = bounded_content(huge)
    assert set(kept) == {"_omitted"}
    assert "Open the preview" in kept["_omitted"]


# --- staff entries ------------------------------------------------------------------
def test_a_marketer_adds_edits_and_removes_a_slot_and_each_step_is_audited(
    db, croct, marketer, client_for
):
    client = client_for(marketer)
    response = add_slot(
        client, croct, description="Checkout banner", versions="1.0, 2", locales="en, PT-BR"
    )
    assert response.status_code == 302
    slot = CatalogSlot.objects.get(slot_id="checkout-banner")
    assert (slot.description, slot.versions, slot.locales) == (
        "Checkout banner",
        ["1.0", "2"],
        ["en", "pt-br"],
    )
    assert slot.added_source == SlotSource.STAFF
    page = client.get(response.url).content.decode()
    assert "Added checkout-banner in Croct shop&#x27;s catalog" in page

    edit_page = client.get(reverse("previews:catalog_edit", args=[slot.pk])).content.decode()
    assert 'value="Checkout banner"' in edit_page
    assert reverse("previews:catalog_delete", args=[slot.pk]) in edit_page
    response = client.post(
        reverse("previews:catalog_edit", args=[slot.pk]),
        {"slot_id": "checkout-banner", "description": "Shown at checkout"},
    )
    assert response.status_code == 302
    slot.refresh_from_db()
    assert slot.description == "Shown at checkout"

    client.post(reverse("previews:catalog_delete", args=[slot.pk]))
    assert not CatalogSlot.objects.exists()
    actions = list(
        LogEntry.objects.filter(content_type__model="catalogslot")
        .order_by("id")
        .values_list("additional_data__action", "actor__username")
    )
    assert actions == [
        ("catalog_add", marketer.username),
        ("catalog_edit", marketer.username),
        ("catalog_remove", marketer.username),
    ]


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"slot_id": "home hero"}, "slot_id", "no spaces"),
        # The form's own NUL check (Django's) speaks first; the service's is below.
        ({"description": "Evil\x00"}, "description", "Null characters are not allowed."),
        ({"slot_id": "a\x00b"}, "slot_id", "Null characters are not allowed."),
        ({"versions": "one"}, "versions", "&#x27;one&#x27;"),
        ({"locales": "english!"}, "locales", "&#x27;english!&#x27;"),
        ({"description": "d" * 201}, "description", "200 characters"),
    ],
)
def test_bad_entries_are_refused_with_a_sentence_and_the_input_kept(
    db, croct, marketer, client_for, fields, field, message
):
    response = add_slot(client_for(marketer), croct, **fields)
    assert response.status_code == 422
    html = response.content.decode()
    assert message in html
    assert not CatalogSlot.objects.exists()


def test_the_service_refuses_nul_characters_with_a_sentence(db, croct):
    with pytest.raises(services.VisitorInputError) as raised:
        services.catalog_slot_save(
            account=croct, slot_id="x\x00", description="y\x00", versions=["1\x00"]
        )
    assert set(raised.value.errors) == {"slot_id", "description", "versions"}
    assert all("NUL character" in m for m in raised.value.errors.values())
    assert not CatalogSlot.objects.exists()


def test_a_slot_already_in_the_catalog_is_refused(db, croct, marketer, client_for):
    run_preview(croct)
    response = add_slot(client_for(marketer), croct, slot_id="home-hero")
    assert response.status_code == 422
    assert "home-hero is already in this account&#x27;s catalog" in response.content.decode()
    assert CatalogSlot.objects.count() == 1


# --- search and pages -----------------------------------------------------------------
@pytest.fixture
def many_slots(croct):
    CatalogSlot.objects.bulk_create(
        [
            CatalogSlot(account=croct, slot_id=f"slot-{n:03d}", added_source="staff")
            for n in range(60)
        ]
        + [
            CatalogSlot(
                account=croct,
                slot_id="banner-top",
                description="Top of every slot page",
                added_source="staff",
            ),
            CatalogSlot(account=croct, slot_id="promo-slot", added_source="staff"),
        ]
    )


def test_search_puts_prefix_matches_first_and_is_bounded(db, croct, many_slots):
    found = [s.slot_id for s in selectors.catalog_search(account_id=croct.pk, query="slot")]
    assert len(found) == selectors.CATALOG_SEARCH_LIMIT
    assert found == [f"slot-{n:03d}" for n in range(selectors.CATALOG_SEARCH_LIMIT)]
    found = [s.slot_id for s in selectors.catalog_search(account_id=croct.pk, query="top")]
    assert found == ["banner-top"]  # by description too
    found = [s.slot_id for s in selectors.catalog_search(account_id=croct.pk, query="o-sl")]
    assert found == ["promo-slot"]


def test_search_is_per_account(db, croct, demo_account, many_slots):
    other = demo_account("croct", name="Other shop")
    assert selectors.catalog_search(account_id=other.pk, query="slot") == []


def test_the_search_view_lists_suggestions_the_form_picks_from(
    db, croct, many_slots, marketer, client_for
):
    client = client_for(marketer)
    response = client.get(
        reverse("previews:catalog_search"),
        {"account": croct.pk, "slot_id": "banner"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert 'data-pick-slot="banner-top"' in html
    assert "Top of every slot page" in html
    html = client.get(
        reverse("previews:catalog_search"), {"account": croct.pk, "slot_id": "nothing\x00"}
    ).content.decode()
    assert "No catalog slot matches" in html
    assert "the id is sent as typed" in html


def test_the_preview_and_grid_forms_ask_the_catalog_as_the_user_types(
    db, croct, marketer, client_for
):
    client = client_for(marketer)
    search = reverse("previews:catalog_search")
    for page in ("previews:index", "previews:grids"):
        html = client.get(reverse(page)).content.decode()
        assert f'hx-get="{search}"' in html, page
        assert 'class="slot-suggestions"' in html, page


def test_the_catalog_page_walks_the_slots_a_page_at_a_time(
    db, croct, many_slots, support, client_for
):
    client = client_for(support)
    first = client.get(reverse("previews:catalog"), {"account": croct.pk}).content.decode()
    assert first.count('data-testid="catalog-slot"') == selectors.CATALOG_PAGE_SIZE
    page = selectors.catalog_page(account_id=croct.pk)
    assert f"after={page.next_after}" in first
    second = client.get(
        reverse("previews:catalog"), {"account": croct.pk, "after": page.next_after}
    ).content.decode()
    assert second.count('data-testid="catalog-slot"') == 62 - selectors.CATALOG_PAGE_SIZE
    assert 'data-testid="catalog-next"' not in second
    # Support reads the catalog but has nothing to change it with.
    assert 'data-testid="edit-slot"' not in first
    assert 'data-testid="add-slot"' not in first


def test_the_catalog_search_box_answers_with_the_rows_only(
    db, croct, many_slots, marketer, client_for
):
    html = (
        client_for(marketer)
        .get(
            reverse("previews:catalog"), {"account": croct.pk, "q": "promo"}, HTTP_HX_REQUEST="true"
        )
        .content.decode()
    )
    assert html.lstrip().startswith('<div id="catalog-rows">')
    assert html.count('data-testid="catalog-slot"') == 1


def test_the_catalog_shows_component_and_last_content(db, croct, marketer, client_for):
    run_preview(croct, context={"attributes": {"plan": "pro"}})
    html = client_for(marketer).get(reverse("previews:catalog")).content.decode()
    row = html.split('data-slot="home-hero"')[1].split("</tr>")[0]
    assert "home-hero@2" in row
    assert "Personalized for Pro users" in row
    assert "Seen in a preview" in row


# --- demo seeding and the command -------------------------------------------------------
def test_seed_demo_puts_the_sandbox_slots_in_the_demo_catalog_once(db):
    from dashboard.accounts.models import ConnectedAccount

    call_command("seed_demo", base_url="http://127.0.0.1:8123", stdout=StringIO())
    account = ConnectedAccount.objects.get(provider="croct")
    slots = {s.slot_id: s for s in CatalogSlot.objects.filter(account=account)}
    assert set(slots) == {
        "home-hero",
        "pricing-banner",
        "product-recommendations",
        "newsletter-signup",
        "announcement-bar",
    }
    hero = slots["home-hero"]
    assert (hero.added_source, hero.description, hero.component) == ("demo", "Hero", "home-hero@2")
    assert hero.versions == ["1.0", "1.1", "2.0"]
    assert "pt-br" in hero.locales
    assert hero.last_content["title"] == "Ship personalized experiences"
    # Only accounts that preview get a catalog; a second run adds nothing and keeps edits.
    assert CatalogSlot.objects.exclude(account=account).count() == 0
    CatalogSlot.objects.filter(slot_id="home-hero").update(description="Our hero")
    call_command("seed_demo", base_url="http://127.0.0.1:8123", stdout=StringIO())
    assert CatalogSlot.objects.count() == 5
    assert CatalogSlot.objects.get(slot_id="home-hero").description == "Our hero"


def _run_command(*args) -> str:
    out = StringIO()
    call_command("preview_slot", *args, stdout=out)
    return out.getvalue()


def test_preview_slot_list_prints_the_catalog(db, croct):
    assert "catalog is empty" in _run_command("Croct shop", "--list")
    run_preview(croct, locale="en")
    services.catalog_slot_save(account=croct, slot_id="footer", description="Site footer")

    lines = _run_command("Croct shop", "--list").splitlines()
    assert lines[0].startswith("footer ")
    assert "Site footer" in lines[0]
    assert lines[1].startswith("home-hero ")
    assert "home-hero@2" in lines[1]
    assert "v2.0" in lines[1]

    data = json.loads(_run_command(str(croct.pk), "--list", "--json"))
    assert [s["slot_id"] for s in data] == ["footer", "home-hero"]
    assert data[1]["component"] == "home-hero@2"
    assert data[1]["locales"] == ["en"]
    assert data[1]["last_content"]["_component"] == "home-hero@2"
    assert data[0]["added_source"] == "staff"


def test_preview_slot_needs_a_slot_or_list(db, croct):
    with pytest.raises(CommandError, match="--list") as raised:
        _run_command("Croct shop")
    assert raised.value.returncode == 2
    with pytest.raises(CommandError, match="no account named"):
        _run_command("Nobody", "--list")


def _catalog_plans(account, terms) -> dict[str, str]:
    """The plan PostgreSQL picks for the catalog page's "contains" query, per term."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE previews_catalogslot")
    plans = {}
    for term in terms:
        rows = CatalogSlot.objects.filter(account=account).order_by("slot_id")
        rows = rows.filter(
            selectors.Q(slot_id__icontains=term) | selectors.Q(description__icontains=term)
        )
        plans[term] = rows[: selectors.CATALOG_PAGE_SIZE + 1].explain()
    return plans


def test_the_contains_search_never_sorts_a_scan_of_the_whole_catalog(db, croct):
    """Without statistics on ``UPPER(column)`` PostgreSQL guessed two matches and
    sorted a sequential scan of every slot for each keystroke; the search index gives
    it the statistics, so common terms walk the slot-id index and stop after a page."""
    from django.db import connection

    pages = ("home", "pricing", "checkout", "blog")
    CatalogSlot.objects.bulk_create(
        [
            CatalogSlot(
                account=croct,
                slot_id=f"{pages[n % 4]}-slot-{n:05d}",
                description=f"Slot {n} on the {pages[n % 2]} page",
                added_source="staff",
            )
            for n in range(5000)
        ],
        batch_size=1000,
    )
    # The page is right on either database: slot-id order, by id or description.
    page = selectors.catalog_page(account_id=croct.pk, query="pricing")
    expected = sorted(
        f"{pages[n % 4]}-slot-{n:05d}" for n in range(5000) if n % 4 == 1 or n % 2 == 1
    )[: selectors.CATALOG_PAGE_SIZE]
    assert [slot.slot_id for slot in page.slots] == expected
    assert selectors.catalog_page(account_id=croct.pk, query="no-such-slot").slots == []
    if connection.vendor != "postgresql":
        return  # SQLite has no planner statistics to miss, nor the index
    # Common terms (half and a fifth of the slots): the first page is found by walking
    # the slot-id index. (A rare term may be a scan at this size: there is no page to stop at.)
    plans = _catalog_plans(croct, ["pricing", "slot-01"])
    for term, plan in plans.items():
        assert "Seq Scan on previews_catalogslot" not in plan, (term, plan)

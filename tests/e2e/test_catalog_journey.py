"""A marketer on a fresh console (seed_demo, as `make run` does) picks a slot from the
catalog, previews it, names the served variant in place, and reads that name in the
grid and the history — in a real Chromium, against the console's own sandbox and a
real worker."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import call_command

from dashboard.previews.models import CatalogSlot, Label, PreviewRequest
from tests.conftest import browser_login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.worker]

# What the sandbox's brazil-welcome experiment serves, by title: the name to give it.
VARIANT_NAMES = {
    "Free shipping to Brazil": "B: free shipping",
    "Olá! Welcome": "A: olá",
    "Ship personalized experiences": "Control",
}


def seed_fresh_console(base_url: str) -> str:
    """seed_demo against the live server (its /sandbox/ is the demo's provider); the
    demo marketer's password it prints."""
    out = StringIO()
    call_command("seed_demo", base_url=base_url, stdout=out)
    return re.search(r"^\s+marketer\s+(\S+)$", out.getvalue(), re.M).group(1)


def test_a_marketer_picks_a_slot_from_the_catalog_names_the_variant_and_reads_it_everywhere(
    page, live_server, celery_worker
):
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: problems.append(r.url) if r.status >= 500 else None)
    password = seed_fresh_console(live_server.url)
    assert CatalogSlot.objects.filter(slot_id="home-hero", added_source="demo").exists()
    browser_login(page, "marketer", password)

    # 1. Nothing previewed yet, but the slot field offers the demo catalog as one types.
    page.get_by_role("link", name="Preview", exact=True).first.click()
    page.locator("#id_account").select_option(label="Croct (sandbox)")
    page.click("#id_slot_id")
    offered = page.locator("[data-testid=slot-suggestions][data-query=''] [data-pick-slot]")
    offered.first.wait_for()
    assert offered.count() == 5  # the sandbox's slots, before anything was previewed
    page.locator("#id_slot_id").press_sequentially("hero")
    narrowed = page.locator("[data-testid=slot-suggestions][data-query=hero]")
    narrowed.wait_for()
    suggestion = narrowed.locator("[data-testid=slot-suggestion][data-pick-slot=home-hero]")
    assert narrowed.locator("[data-pick-slot]").count() == 1
    assert "Hero" in suggestion.inner_text()
    assert "home-hero@2" in suggestion.inner_text()
    # The form is swapped by htmx next: keep the caret (see screenshot's docstring).
    screenshot(page, "catalog-pick-slot", caret="initial")
    suggestion.click()
    assert page.input_value("#id_slot_id") == "home-hero"

    # 2. Preview it for the Brazil visitor: an experiment serves a variant, shown as an id.
    page.select_option("#id_persona", label="Brazil visitor")
    page.click("[data-testid=run-preview]")
    result = page.locator("#preview-result [data-testid=preview-result][data-status=done]")
    result.wait_for()
    preview = PreviewRequest.objects.get()
    variant_id = preview.result["variant_id"]
    title = preview.result["content"]["title"]
    name = VARIANT_NAMES[title]
    variant = result.locator("[data-testid=variant]")
    assert variant_id in variant.inner_text()

    # 3. Name it in place: the sentence says so and the badge shows the name.
    variant.locator("[data-testid=name-this]").click()
    page.fill("#preview-result [data-testid=label-input]", name)
    page.click("#preview-result [data-testid=save-label]")
    page.wait_for_selector("[data-testid=label-sentence]")
    assert page.inner_text("[data-testid=label-status]") == f"Named the variant ‘{name}’."
    assert variant.locator("[data-testid=label-name]").inner_text() == name
    # The same id in "Latest previews" was re-rendered too, without a reload.
    recent = page.locator(f"#recent-previews [data-label-key='variant-{variant_id}']")
    assert recent.locator("[data-testid=label-name]").inner_text() == name
    # The id is one click away.
    variant.locator("summary").click()
    assert variant.locator("[data-testid=label-id]").inner_text() == variant_id
    screenshot(page, "catalog-named-variant", caret="initial")
    label = Label.objects.get()
    assert (label.kind, label.target_id, label.name) == ("variant", variant_id, name)

    # 4. A grid of the same slot (picked from the catalog again): the name in its cell.
    page.get_by_role("link", name="Grids").click()
    page.click("#id_slot_id")
    page.locator("#id_slot_id").press_sequentially("home")
    page.locator(
        "[data-testid=slot-suggestions][data-query=home] [data-pick-slot=home-hero]"
    ).click()
    assert page.input_value("#id_slot_id") == "home-hero"
    for persona in ("Anonymous", "Brazil visitor"):
        page.get_by_label(persona).check()
    page.fill("#id_locales", "en")
    page.click("[data-testid=run-grid]")
    page.wait_for_selector("#grid-cells[data-finished=true]")
    brazil_cell = page.locator("tr", has_text="Brazil visitor").locator("[data-testid=cell]")
    assert (
        brazil_cell.locator("[data-testid=cell-variant] [data-testid=label-name]").inner_text()
        == name
    )
    screenshot(page, "catalog-grid-with-names")

    # 5. The history names it on every row that served it.
    page.get_by_role("link", name="History").click()
    rows = page.locator("[data-testid=history-variant] [data-testid=label-name]")
    assert rows.count() == 2  # the preview and the grid's Brazil cell
    assert {rows.nth(i).inner_text() for i in range(rows.count())} == {name}
    screenshot(page, "catalog-history-with-names")

    # 6. The catalog now says what home-hero served last, and when.
    page.get_by_role("link", name="Slot catalog").click()
    row = page.locator("[data-testid=catalog-slot][data-slot=home-hero]")
    assert "home-hero@2" in row.inner_text()
    assert "Seen in a preview" in row.inner_text()
    row.locator("summary").click()
    assert "_component" in row.locator("[data-testid=last-content]").inner_text()
    screenshot(page, "catalog-page")
    assert problems == [], "\n".join(problems)

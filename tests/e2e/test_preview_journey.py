"""A marketer builds a persona, previews a slot for it, runs a 3 x 2 grid and opens a
diff of two cells — in a real Chromium, against the Croct sandbox and a real worker."""

from __future__ import annotations

import pytest

from dashboard.previews.models import Persona, PreviewGrid
from tests.conftest import browser_login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.worker]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def make_persona(name: str, context: dict) -> Persona:
    from dashboard.previews.services import persona_save

    return persona_save(name=name, context=context, identity_mode="random")


def test_a_marketer_previews_a_slot_runs_a_grid_and_opens_a_diff(
    page, marketer, demo_account, celery_worker
):
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: problems.append(r.url) if r.status >= 500 else None)
    demo_account("croct", name="Croct shop")
    make_persona("Anonymous", {})
    make_persona("Brazil visitor", {"timeZone": "America/Sao_Paulo"})
    browser_login(page, marketer.username)

    # 1. Build a persona.
    page.get_by_role("link", name="Preview", exact=True).click()
    page.get_by_role("link", name="Personas").click()
    page.click("[data-testid=new-persona]")
    page.fill("#id_name", "Pro shopper")
    page.fill("#id_description", "On the Pro plan")
    page.fill("#id_attributes", "plan=pro\ncompany.size=50")
    page.get_by_role("button", name="Save persona").click()
    page.wait_for_selector("[data-testid=persona][data-name='Pro shopper']")
    assert Persona.objects.get(name="Pro shopper").context == {
        "attributes": {"plan": "pro", "company": {"size": 50}}
    }

    # 2. Preview a slot for it: the fragment fills in without a page load.
    page.get_by_role("link", name="Preview", exact=True).first.click()
    page.fill("#id_slot_id", "home-hero")
    page.select_option("#id_persona", label="Pro shopper")
    page.click("[data-testid=run-preview]")
    result = page.locator("#preview-result [data-testid=preview-result][data-status=done]")
    result.wait_for()
    assert "experience" in result.locator("[data-testid=source]").inner_text()
    assert "Personalized for Pro users" in result.inner_text()
    screenshot(page, "previews-result")

    # 3. A 3 x 2 grid: cells fill in as the worker finishes them.
    page.get_by_role("link", name="Grids").click()
    page.fill("#id_slot_id", "home-hero")
    for name in ("Anonymous", "Brazil visitor", "Pro shopper"):
        page.get_by_label(name).check()
    page.fill("#id_locales", "en, pt-br")
    page.click("[data-testid=run-grid]")
    page.wait_for_selector("#grid-cells[data-finished=true]")
    cells = page.locator("[data-testid=cell]")
    assert cells.count() == 6
    assert page.locator("[data-testid=cell][data-status=done]").count() == 6
    # Baseline is Anonymous/en; every other cell differs in language or experience.
    assert page.locator("[data-testid=cell][data-differs=true]").count() == 5
    screenshot(page, "previews-grid")

    # 4. Diff two cells field by field.
    grid = PreviewGrid.objects.get()
    baseline = grid.cells.get(persona_name="Anonymous", locale="en")
    pro = grid.cells.get(persona_name="Pro shopper", locale="en")
    page.check(f"[data-cell='{baseline.pk}'] input[data-diff-pick]")
    page.check(f"[data-cell='{pro.pk}'] input[data-diff-pick]")
    page.click("[data-testid=diff-button]")
    page.wait_for_selector("[data-testid=diff]")
    changed = page.locator("tr[data-change=changed]")
    assert changed.count() >= 2
    assert (
        "Personalized for Pro users" in page.locator("tr[data-path='content.title']").inner_text()
    )
    screenshot(page, "previews-diff")

    # 5. One picked cell is compared with the baseline (#16 defect 7: it was a 404),
    # and comparing with none picked says what to do on the grid itself.
    page.go_back()
    page.wait_for_selector("#grid-cells[data-finished=true]")
    for box in page.locator("input[data-diff-pick]:checked").all():
        box.uncheck()
    page.click("[data-testid=diff-button]")
    page.wait_for_selector(".messages >> text=Tick two cells to compare them")
    page.check(f"[data-cell='{pro.pk}'] input[data-diff-pick]")
    page.click("[data-testid=diff-button]")
    page.wait_for_selector("[data-testid=diff]")
    assert f"#{baseline.pk} vs #{pro.pk}" in page.locator("h1").inner_text()
    screenshot(page, "previews-diff-with-baseline")
    assert problems == []


def test_the_cql_playground_marks_the_error_in_the_query_and_shows_a_suspension(
    page, marketer, demo_account, sandbox, celery_worker
):
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    demo_account("croct", name="Croct shop")
    make_persona("Pro shopper", {"attributes": {"plan": "pro"}})
    browser_login(page, marketer.username)

    page.goto("/preview/cql/")
    page.fill("#id_query", "context's plan is 'pro'")
    page.select_option("#id_persona", label="Pro shopper")
    page.click("[data-testid=run-cql]")
    page.wait_for_selector("[data-testid=cql-result][data-status=done]")
    assert page.inner_text("[data-testid=cql-value]") == "true"

    page.fill("#id_query", "true and\ncontext's plan is is 'pro'")
    page.click("[data-testid=run-cql]")
    page.wait_for_selector("[data-testid=cql-result][data-status=failed]")
    assert page.locator("[data-testid=query-mark]").inner_text().strip()
    assert "Line 2, column" in page.inner_text("[data-testid=query-marks]")
    screenshot(page, "previews-cql-error")

    sandbox["croct"].app.suspended = True
    page.goto("/preview/")
    page.fill("#id_slot_id", "home-hero")
    page.click("[data-testid=run-preview]")
    page.wait_for_selector("[data-testid=preview-result][data-suspended=true]")
    assert "Workspace services suspended" in page.inner_text("#preview-result")
    # The finished result also refreshed "Latest previews" on the same page.
    page.wait_for_selector("#recent-previews .badge.suspended")
    screenshot(page, "previews-suspended")
    assert problems == []


def test_a_failed_poll_is_retried_and_the_grid_still_fills_in(
    page, marketer, demo_account, sandbox, celery_worker
):
    from dashboard.previews.services import grid_create
    from integrations.sandbox import Fault

    # Slow answers: the page is surely polling before the cells are done.
    sandbox["croct"].app.faults.add(Fault(kind="latency", latency_ms=1500))

    account = demo_account("croct", name="Croct shop")
    personas = [make_persona("Anonymous", {}), make_persona("Pro", {"attributes": {"plan": "pro"}})]
    failed = []

    def fail_first_poll(route):
        if not failed:
            failed.append(route.request.url)
            route.fulfill(status=503, body="restarting")
        else:
            route.continue_()

    page.route("**/preview/grids/*/cells/", fail_first_poll)
    browser_login(page, marketer.username)
    grid = grid_create(account=account, slot_id="home-hero", personas=personas, locales=["en"])

    page.goto(f"/preview/grids/{grid.pk}/")
    page.wait_for_selector("#grid-cells[data-finished=true]")

    assert len(failed) == 1
    assert page.locator("[data-testid=cell][data-status=done]").count() == 2


def test_an_ad_hoc_run_keeps_what_was_sent_open_and_the_result_in_view(
    page, marketer, demo_account, celery_worker
):
    """#16 defect 10: the ad-hoc section used to collapse after a run, hiding what was
    sent, and the result could land out of view beside the long form."""
    demo_account("croct", name="Croct shop")
    browser_login(page, marketer.username)
    page.set_viewport_size({"width": 1400, "height": 800})
    page.goto("/preview/")
    page.fill("#id_slot_id", "home-hero")
    page.click("[data-testid=adhoc] summary")
    page.fill("#id_attributes", "plan=pro")
    page.fill("#id_time_zone", "America/Sao_Paulo")
    page.click("[data-testid=run-preview]")
    result = page.locator("#preview-result [data-testid=preview-result][data-status=done]")
    result.wait_for()

    assert page.locator("[data-testid=adhoc]").get_attribute("open") is not None
    assert page.locator("#id_attributes").input_value() == "plan=pro"
    assert page.locator("#id_time_zone").input_value() == "America/Sao_Paulo"
    top = page.evaluate("document.getElementById('preview-result').getBoundingClientRect().top")
    assert 0 <= top < 800, top
    screenshot(page, "previews-adhoc-kept-open")

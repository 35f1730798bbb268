"""The slot catalog, the Names page and public links in a real Chromium, as marketer,
support and an anonymous visitor, with hostile input in every form field, query
parameter and URL: NUL bytes, 100,000-character strings, odd encodings, tampered
choices and ids beyond any row. Every answer is a page with a sentence the user can
act on: never a 500, never raw exception text, and what was typed (NUL aside, which
cannot be shown back) is still in the form."""

from __future__ import annotations

import uuid
from urllib.parse import quote

import pytest

from dashboard.previews.models import CatalogSlot, Label, PreviewRequest, PublicShareLink
from tests.conftest import browser_login, screenshot
from tests.e2e.hostile import HUGE, LONG, NUL, ODD, RAW_ERROR, answered_in_words
from tests.e2e.hostile import submit_tampered as _submit

pytestmark = pytest.mark.browser

VARIANT = str(uuid.UUID(int=7))


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def served(demo_account):
    """A finished preview that served a labelled-to-be variant."""
    account = demo_account("croct", name="Croct shop")
    return PreviewRequest.objects.create(
        account=account,
        slot_id="home-hero",
        locale="en",
        status="done",
        result={
            "content": {"_component": "home-hero@2", "title": "Olá"},
            "component": "home-hero@2",
            "source": "experiment",
            "variant_id": VARIANT,
        },
    )


def _visit(page, url: str, *, expect: str | None = None) -> str:
    response = page.goto(url)
    return answered_in_words(page, response.status, expect=expect)


def _fetch_fragment(page, url: str) -> str:
    """What htmx would swap in from ``url`` (a fragment: no page around it)."""
    status, body = page.evaluate(
        """async url => {
            const r = await fetch(url, {headers: {"HX-Request": "true"}});
            return [r.status, await r.text()];
        }""",
        url,
    )
    assert status == 200, (status, body[:500])
    assert not RAW_ERROR.search(body), RAW_ERROR.search(body)
    return body


def test_a_marketer_gets_a_sentence_for_every_hostile_catalog_and_name_field(
    page, marketer, served
):
    problems = []
    # Refusals (422) and not-found pages (404) this test asks for show as failed
    # resources in Chromium: expected.
    page.on(
        "console",
        lambda m: (
            problems.append(m.text) if m.type == "error" and "status of 4" not in m.text else None
        ),
    )
    browser_login(page, marketer.username)
    account = served.account

    # The catalog form: each bad field refused at that field, the rest kept as typed.
    cases = [
        ({"slot_id": NUL}, "Null characters are not allowed", "description"),
        ({"description": NUL}, "Null characters are not allowed", "slot_id"),
        ({"description": HUGE}, "200 characters", "slot_id"),
        ({"slot_id": HUGE}, "120 characters", "description"),
        ({"slot_id": ODD}, "no spaces", "description"),
        ({"versions": NUL}, "Null characters are not allowed", "slot_id"),
        ({"locales": HUGE}, "", "slot_id"),
        ({"account": NUL}, "Null characters are not allowed", "slot_id"),
        ({"account": "9" * 40}, "Select a valid choice", "slot_id"),
    ]
    for number, (bad, sentence, kept) in enumerate(cases):
        page.goto(f"/preview/catalog/new/?account={account.pk}")
        typed = {"slot_id": "hero-banner", "description": f"Banner {ODD}", **bad}
        status = _submit(page, "[data-testid=catalog-form]", typed)
        text = answered_in_words(page, status, expect=sentence or None)
        assert page.locator("[data-testid=catalog-form] .errorlist").count(), text[:800]
        assert page.input_value(f"#id_{kept}") == typed[kept]
        size = page.evaluate(
            "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
        )
        # What was typed (or an error quoting it) does not stretch the page.
        assert size[0] <= 1280, (number, size)
        assert size[1] < 3000, (number, size)
        screenshot(page, f"names-hostile-catalog-{number}")
    assert not CatalogSlot.objects.filter(account=account).exists()

    # The catalog page and the search the forms ask, with hostile query parameters.
    for query in (NUL, LONG, ODD, "%", "_", "\\"):
        _visit(page, f"/preview/catalog/?account={account.pk}&q={quote(query)}")
        assert "Slot catalog" in page.locator("h1").inner_text()
        _fetch_fragment(
            page, f"/preview/catalog/search/?account={quote(query)}&slot_id={quote(query)}"
        )
    _visit(page, f"/preview/catalog/?account={'9' * 40}&after={quote(LONG)}")
    _visit(page, f"/preview/catalog/{'9' * 30}/edit/", expect="")
    screenshot(page, "names-hostile-catalog-search")

    # Naming the served variant from the Names page's rename form, then hostile renames.
    Label.objects.create(account=account, kind="variant", target_id=VARIANT, name="B: olá")
    for name, sentence in ((NUL, "Null characters are not allowed"), (HUGE, "at most")):
        page.goto("/preview/labels/")
        status = _submit(page, "[data-testid=labels] form:has([name=name])", {"name": name})
        answered_in_words(page, status, expect=sentence)
    for tampered in ({"target_id": NUL}, {"kind": HUGE}, {"account": "9" * 40}):
        page.goto("/preview/labels/")
        status = _submit(page, "[data-testid=labels] form:has([name=name])", tampered)
        answered_in_words(page, status)
    assert Label.objects.get(account=account).name == "B: olá"
    for query in (NUL, LONG, ODD):
        _visit(page, f"/preview/labels/?q={quote(query)}&kind={quote(query)}&account=x")
    screenshot(page, "names-hostile-labels")

    # A public link with a tampered lifetime: refused in the panel, no link made.
    for days in (NUL, HUGE, "-1", "100000"):
        page.goto(f"/preview/{served.pk}/")
        page.evaluate(
            """days => {
                const s = document.querySelector("[data-testid=public-link-form] select");
                const o = document.createElement("option"); o.value = days; s.appendChild(o);
                s.value = days;
            }""",
            days,
        )
        page.click("[data-testid=public-link-create]")
        error = page.locator("[data-testid=public-error]")
        error.wait_for()
        assert "Pick" in error.inner_text() or "pick" in error.inner_text(), error.inner_text()
    assert not PublicShareLink.objects.exists()
    screenshot(page, "names-hostile-public-link")
    assert problems == []


def test_support_is_told_it_cannot_name_and_an_anonymous_visitor_gets_not_found(
    page, support, served, browser, live_server
):
    browser_login(page, support.username)
    account = served.account
    _visit(page, "/preview/labels/")
    assert page.locator("[data-testid=labels] form").count() == 0
    # A tampered request to the save goes to the permission page, in words.
    status = page.evaluate(
        """async ([account, target]) => {
            const token = document.cookie.match(/csrftoken=([^;]+)/)[1];
            const body = new URLSearchParams({account, kind: "variant", target_id: target,
                name: "x\\u0000y"});
            const r = await fetch("/preview/labels/save/", {method: "POST", body,
                headers: {"X-CSRFToken": token}});
            return r.status;
        }""",
        [str(account.pk), VARIANT],
    )
    assert status == 403
    assert not Label.objects.exists()
    _visit(page, f"/preview/catalog/?account={account.pk}&q={quote(NUL)}")
    assert page.locator("text=Add a slot").count() == 0
    screenshot(page, "names-hostile-support")

    # Without a login: hostile public tokens are a not-found page with a sentence.
    anonymous = browser.new_context(base_url=live_server.url)
    outsider = anonymous.new_page()
    try:
        for token in (quote(NUL), "x" * 5000, quote(ODD), "..%2F..%2Fetc%2Fpasswd"):
            response = outsider.goto(f"/preview/public/{token}/")
            assert response.status in (400, 404), response.status
            body = outsider.content()
            assert not RAW_ERROR.search(body), RAW_ERROR.search(body)
            assert outsider.locator("h1").count(), body[:500]
        screenshot(outsider, "names-hostile-public-token")
    finally:
        anonymous.close()

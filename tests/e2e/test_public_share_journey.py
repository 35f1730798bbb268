"""A marketer makes a public link to a preview; an outside reviewer with no account
opens it in a browser of their own and sees the result; the marketer revokes it and the
reviewer is refused with a sentence — in a real Chromium, against the Croct sandbox and
a real worker."""

from __future__ import annotations

import pytest

from dashboard.previews.models import PreviewRequest, PublicShareOpen
from tests.conftest import browser_login, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.worker]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_an_anonymous_browser_opens_a_public_link_until_it_is_revoked(
    page, browser, live_server, marketer, demo_account, celery_worker
):
    from dashboard.previews.services import persona_save

    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("response", lambda r: problems.append(r.url) if r.status >= 500 else None)
    demo_account("croct", name="Croct shop")
    persona_save(
        name="Pro shopper",
        context={"attributes": {"plan": "pro", "email": "pro.shopper@example.com"}},
        identity_mode="random",
    )
    browser_login(page, marketer.username)

    # 1. Preview a slot, then open the preview's own page.
    page.goto("/preview/")
    page.fill("#id_slot_id", "home-hero")
    page.select_option("#id_persona", label="Pro shopper")
    page.click("[data-testid=run-preview]")
    page.locator("#preview-result [data-testid=preview-result][data-status=done]").wait_for()
    preview = PreviewRequest.objects.get()
    page.goto(f"/preview/{preview.pk}/")

    # 2. Create a public link for 7 days: the panel says until when, and lists it.
    panel = page.locator("[data-testid=public-links]")
    page.select_option("[data-testid=public-days]", "7")
    page.click("[data-testid=public-link-create]")
    sentence = panel.locator("[data-testid=public-sentence]")
    sentence.wait_for()
    assert sentence.inner_text().startswith(
        "Public link created; anyone with it can see this result until "
    )
    url = panel.locator("[data-testid=public-url]").input_value()
    assert "/preview/public/" in url
    screenshot(page, "public-share-created")

    # 3. Someone without an account, in a browser of their own, opens it.
    outsider_context = browser.new_context(viewport={"width": 1000, "height": 760})
    try:
        outsider = outsider_context.new_page()
        # Chromium reports the refused page's 410 as a console error: that one is the point.
        outsider.on(
            "console",
            lambda m: (
                problems.append(m.text)
                if m.type == "error" and "410 (Gone)" not in m.text
                else None
            ),
        )
        answer = outsider.goto(url)
        assert answer.status == 200
        shared = outsider.locator("[data-testid=public-share]")
        assert "Personalized for Pro users" in shared.inner_text()
        assert preview.result["experience_id"] in shared.inner_text()
        text = outsider.inner_text("body")
        for private in ("Croct shop", "Pro shopper", "pro.shopper@example.com", marketer.username):
            assert private not in text
        assert outsider.locator("nav").count() == 0
        assert answer.headers["x-robots-tag"].startswith("noindex")
        assert answer.headers["referrer-policy"] == "no-referrer"
        screenshot(outsider, "public-share-opened")
        assert PublicShareOpen.objects.count() == 1

        # 4. The marketer sees the open counted, and revokes the link.
        page.reload()
        assert panel.locator("[data-testid=public-opens]").first.inner_text().startswith("1")
        page.click("[data-testid=public-link-revoke]")
        panel.locator("[data-testid=public-link][data-state=revoked]").wait_for()
        assert panel.locator("[data-testid=public-sentence]").inner_text() == (
            "Public link revoked; whoever opens it now is told it was revoked."
        )
        screenshot(page, "public-share-revoked")

        # 5. The same browser, the same link: refused, with a sentence.
        answer = outsider.reload()
        assert answer.status == 410
        refused = outsider.locator("[data-testid=public-refused]")
        assert "This link was revoked by the console's staff." in refused.inner_text()
        assert "Personalized for Pro users" not in outsider.inner_text("body")
        screenshot(outsider, "public-share-refused")
    finally:
        outsider_context.close()
    assert PublicShareOpen.objects.count() == 1
    assert problems == []

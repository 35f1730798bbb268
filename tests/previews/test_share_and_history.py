"""Share links, history filters and re-runs: what was served stays apart from what it
shows now."""

from __future__ import annotations

import pytest
from django.core import signing
from django.urls import reverse

from dashboard.previews import sharing
from dashboard.previews.models import PreviewRequest
from tests.previews.conftest import poll_until_done, submit_preview

pytestmark = pytest.mark.worker


def share_url(client, preview) -> str:
    response = client.post(reverse("previews:share", args=[preview.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    start = html.index('value="') + len('value="')
    return html[start : html.index('"', start)]


def test_a_share_link_shows_the_stored_result_and_can_be_re_run(
    celery_worker, croct, sandbox, marketer, support, client_for, make_persona
):
    pro = make_persona("Pro", {"attributes": {"plan": "pro"}})
    client = client_for(marketer)
    _, _, preview = submit_preview(client, croct, persona=pro.pk)
    url = share_url(client, preview)
    assert url.startswith("http://testserver/preview/shared/")
    assert str(preview.context) not in url

    # Another staff member, logged in, opens it: the stored result, read-only for support.
    support_client = client_for(support)
    page = support_client.get(url).content.decode()
    assert 'data-testid="shared-badge"' in page
    assert "Personalized for Pro users" in page
    assert 'data-testid="rerun"' not in page

    # The slot changes at the provider (it now fails): the stored result does not.
    sandbox["croct"].app.suspended = True
    marketer_client = client_for(marketer)
    page = marketer_client.get(url).content.decode()
    assert 'data-testid="rerun"' in page
    response = marketer_client.post(reverse("previews:rerun", args=[preview.pk]))
    again = PreviewRequest.objects.get(rerun_of=preview)
    assert response.url == reverse("previews:detail", args=[again.pk])
    poll_until_done(marketer_client, reverse("previews:result", args=[again.pk]))
    again.refresh_from_db()
    assert again.is_suspended
    assert again.persona_id == pro.pk
    preview.refresh_from_db()
    assert preview.result["source"] == "experience"  # what was served, untouched

    detail = marketer_client.get(reverse("previews:detail", args=[again.pk])).content.decode()
    served = detail.split('data-testid="what-was-served"')[1].split("</section>")[0]
    now = detail.split('data-testid="what-it-shows-now"')[1]
    assert "Personalized for Pro users" in served
    assert "Workspace services suspended" in now
    original = marketer_client.get(reverse("previews:detail", args=[preview.pk])).content
    assert f"re-run #{again.pk}".encode() in original


def test_share_links_need_a_login_expire_and_cannot_be_forged(
    db, croct, marketer, client, client_for, settings
):
    from dashboard.previews.services import preview_create, visitor_for

    preview = preview_create(
        account=croct, slot_id="home-hero", visitor=visitor_for(), enqueue=False
    )
    token = sharing.share_token(preview.pk)
    url = reverse("previews:shared", args=[token])

    anonymous = client.get(url)
    assert anonymous.status_code == 302
    assert anonymous.url.startswith(reverse("login"))

    logged_in = client_for(marketer)
    assert logged_in.get(url).status_code == 200
    forged = reverse("previews:shared", args=[signing.TimestampSigner().sign("1")])
    assert logged_in.get(forged).status_code == 404
    settings.PREVIEW_SHARE_MAX_AGE = -1
    expired = logged_in.get(url)
    assert expired.status_code == 410
    assert "This share link has expired." in expired.content.decode()


def test_history_filters_by_slot_persona_and_account(
    db, demo_account, marketer, client_for, make_persona
):
    from dashboard.previews.services import preview_create, visitor_for

    shop = demo_account("croct", name="Shop")
    blog = demo_account("croct", name="Blog")
    pro = make_persona("Pro", {"attributes": {"plan": "pro"}})
    rows = {
        "shop-hero": preview_create(
            account=shop, slot_id="home-hero", visitor=visitor_for(), enqueue=False
        ),
        "shop-pricing-pro": preview_create(
            account=shop, slot_id="pricing-banner", visitor=visitor_for(persona=pro), enqueue=False
        ),
        "blog-hero-pro": preview_create(
            account=blog, slot_id="home-hero", visitor=visitor_for(persona=pro), enqueue=False
        ),
    }
    client = client_for(marketer)

    def listed(**params):
        html = client.get(reverse("previews:history"), params).content.decode()
        return {name for name, row in rows.items() if f'data-preview="{row.pk}"' in html}

    assert listed() == set(rows)
    assert listed(slot="home-hero") == {"shop-hero", "blog-hero-pro"}
    assert listed(persona=pro.pk) == {"shop-pricing-pro", "blog-hero-pro"}
    assert listed(account=blog.pk) == {"blog-hero-pro"}
    assert listed(slot="home-hero", account=shop.pk) == {"shop-hero"}
    assert listed(persona="garbled²") == set(rows)  # a garbled id is ignored, not a 500

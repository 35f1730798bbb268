"""Public share links (#20): staff create and revoke them on a preview's page; anyone
holding one sees only the rendered result, every open is logged, and a link that is
expired, revoked or tampered with is refused with a sentence."""

from __future__ import annotations

from datetime import timedelta

import pytest
from auditlog.models import LogEntry
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dashboard.previews import sharing
from dashboard.previews.models import PreviewRequest, PublicShareLink, PublicShareOpen
from tests.security.test_leak_scan import SECRETS, _hits

EXPERIENCE = "3f0c7a52-5d2e-4b8a-9e61-0a1b2c3d4e5f"
AUDIENCE = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
EXPERIMENT = "c0ffee11-2233-4455-8677-8899aabbccdd"
VARIANT = "ec7b731a-1f2e-4d3c-9b8a-7f6e5d4c3b2a"
# What the page must never show: the account, the persona and its attributes, the
# visitor's identity and device, the preview token's hint, who asked.
PRIVATE = {
    "account": "Acme private workspace",
    "persona": "Gold VIP shopper",
    "attribute": "ada.lovelace@example.com",
    "customer": "cust-884422",
    "client_id": "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0",
    "ip": "198.51.100.23",
    "agent": "AgencyBrowser/9.1 (Private device)",
    "token_hint": "Zq9w",
    "raw_only": "raw-metadata-only-4f1c",
}


@pytest.fixture(autouse=True)
def _fresh_open_limits():
    # The per-address open limit lives in the (per-process) cache: each test starts clean.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def preview(db, marketer):
    from dashboard.accounts.models import ConnectedAccount
    from dashboard.accounts.services import credential_build
    from dashboard.previews.models import Persona

    marketer.email = "marketer.person@example.com"
    marketer.save()
    account = ConnectedAccount.objects.create(
        provider="croct",
        name=PRIVATE["account"],
        base_url="http://127.0.0.1:9",
        settings={"app_id": "5f0c2a56-3d1b-4a8e-9c47-2b6d8e1f9a30"},
    )
    credential_build(account=account, secrets=SECRETS["croct"], state="active").save()
    persona = Persona.objects.create(
        name=PRIVATE["persona"],
        context={"attributes": {"email": PRIVATE["attribute"]}},
        identity_mode="user_id",
        identity_value=PRIVATE["customer"],
    )
    return PreviewRequest.objects.create(
        account=account,
        slot_id="home-hero",
        locale="en",
        persona=persona,
        persona_name=persona.name,
        context=persona.context,
        identity_mode="user_id",
        identity_value=PRIVATE["customer"],
        client_id=PRIVATE["client_id"],
        client_ip=PRIVATE["ip"],
        client_agent=PRIVATE["agent"],
        preview_token_hint=PRIVATE["token_hint"],
        created_by=marketer,
        status="done",
        finished_at=timezone.now(),
        result={
            "content": {"title": "Free shipping for Pro users", "cta": {"label": "Upgrade"}},
            "component": "hero-banner@1",
            "version": "2",
            "source": "experience",
            "experience_id": EXPERIENCE,
            "audience_id": AUDIENCE,
            "experiment_id": EXPERIMENT,
            "variant_id": VARIANT,
            "schema": None,
            "raw": {"metadata": {"note": PRIVATE["raw_only"]}},
        },
    )


def create_link(client, preview, days: int = 7):
    """POST the panel's form as htmx; (the re-rendered panel, the new link, its URL)."""
    before = set(PublicShareLink.objects.values_list("pk", flat=True))
    response = client.post(
        reverse("previews:public_link_create", args=[preview.pk]),
        {"days": days},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    link = PublicShareLink.objects.exclude(pk__in=before).get()
    return (
        response.content.decode(),
        link,
        reverse("previews:public", args=[sharing.public_token(link.pk)]),
    )


def test_a_marketer_creates_a_link_and_is_told_until_when_it_works(client_for, marketer, preview):
    panel, link, path = create_link(client_for(marketer), preview, days=7)

    assert 'id="public-links"' in panel  # the whole panel, swapped in place
    assert "Public link created; anyone with it can see this result until " in panel
    assert timezone.localtime(link.expires_at).strftime("%Y-%m-%d %H:%M") in panel
    assert f'value="http://testserver{path}"' in panel
    assert abs(link.expires_at - (timezone.now() + timedelta(days=7))) < timedelta(minutes=1)
    assert link.created_by == marketer
    # Nothing secret is stored: the URL is the row's id, signed.
    assert str(link.pk) == path.rstrip("/").rsplit("/", 1)[1].split(".")[0]
    entry = LogEntry.objects.get(additional_data__action="preview_public_link_create")
    assert entry.actor == marketer
    assert entry.additional_data["preview_id"] == preview.pk
    # The preview page lists it too, with who made it and its opens.
    page = client_for(marketer).get(reverse("previews:detail", args=[preview.pk])).content.decode()
    row = page.split(f'data-link="{link.pk}"')[1].split("</tr>")[0]
    assert f"by {marketer.username}" in row
    assert 'data-testid="public-opens">0' in row
    assert 'data-state="live"' in page


def test_anyone_opens_it_without_a_login_and_sees_only_the_result(client_for, marketer, preview):
    _, link, path = create_link(client_for(marketer), preview)

    anonymous = Client()
    response = anonymous.get(path)
    html = response.content.decode()

    assert response.status_code == 200
    assert "Free shipping for Pro users" in html
    assert "Upgrade" in html
    for served in (EXPERIENCE, AUDIENCE, EXPERIMENT, VARIANT, "hero-banner@1"):
        assert served in html
    leaked = [name for name, value in PRIVATE.items() if value in html]
    assert leaked == []
    assert marketer.username not in html
    assert marketer.email not in html
    assert _hits(html) == []  # the leak scan's needles: the account's key, whole or cut
    # No console: no navigation, no forms, no scripts, no link back into the console.
    assert "mainnav" not in html
    assert "<form" not in html
    assert "<script" not in html
    assert 'href="/' not in html.replace('href="/static/', "")
    # Not indexed, not cached, no Referer to the content's links; the site's CSP.
    assert response["X-Robots-Tag"] == "noindex, nofollow, noarchive"
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    # An outsider gets no session and no CSRF cookie.
    assert not response.cookies


def test_every_open_is_logged_and_counted_for_staff(client_for, marketer, preview, settings):
    _, link, path = create_link(client_for(marketer), preview)
    hostile_agent = "Agent\x00with NUL " + "x" * 600

    Client().get(path, REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT=hostile_agent)
    # From behind a trusted proxy the client is the forwarded address, as for log-ins.
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    Client().get(path, REMOTE_ADDR="10.1.2.3", HTTP_X_FORWARDED_FOR="192.0.2.44")

    first, second = PublicShareOpen.objects.filter(link=link).order_by("id")
    assert first.client_ip == "203.0.113.9"
    assert "\x00" not in first.user_agent
    assert first.user_agent.startswith("Agent\ufffdwith NUL ")
    assert len(first.user_agent) == 255
    assert second.client_ip == "192.0.2.44"
    page = client_for(marketer).get(reverse("previews:detail", args=[preview.pk])).content.decode()
    row = page.split(f'data-link="{link.pk}"')[1].split("</tr>")[0]
    assert 'data-testid="public-opens">2' in row


def test_a_signed_in_staff_member_gets_the_same_public_page(client_for, support, marketer, preview):
    _, link, path = create_link(client_for(marketer), preview)

    html = client_for(support).get(path).content.decode()

    assert "Free shipping for Pro users" in html
    assert "mainnav" not in html
    assert support.username not in html
    assert PublicShareOpen.objects.filter(link=link).count() == 1


def test_an_expired_link_is_gone_with_a_sentence_and_logs_nothing(client_for, marketer, preview):
    _, link, path = create_link(client_for(marketer), preview)
    PublicShareLink.objects.filter(pk=link.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )

    response = Client().get(path)

    assert response.status_code == 410
    html = response.content.decode()
    assert "This link expired on " in html
    assert "Ask whoever sent it for a new link" in html
    assert "Free shipping" not in html
    assert response["X-Robots-Tag"].startswith("noindex")
    assert not PublicShareOpen.objects.exists()
    page = client_for(marketer).get(reverse("previews:detail", args=[preview.pk])).content.decode()
    assert 'data-state="expired"' in page


def test_a_revoked_link_is_refused_from_the_next_request(client_for, marketer, preview):
    staff = client_for(marketer)
    _, link, path = create_link(staff, preview)
    outsider = Client()
    assert outsider.get(path).status_code == 200

    response = staff.post(
        reverse("previews:public_link_revoke", args=[preview.pk, link.pk]), HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    panel = response.content.decode()
    assert "Public link revoked; whoever opens it now is told it was revoked." in panel
    assert 'data-state="revoked"' in panel
    assert f"by {marketer.username}" in panel
    refused = outsider.get(path)
    assert refused.status_code == 410
    assert "This link was revoked by the console&#x27;s staff." in refused.content.decode()
    assert "Free shipping" not in refused.content.decode()
    assert PublicShareOpen.objects.filter(link=link).count() == 1  # the open before only
    entry = LogEntry.objects.get(additional_data__action="preview_public_link_revoke")
    assert entry.actor == marketer
    # Revoking again says so instead of pretending.
    again = staff.post(
        reverse("previews:public_link_revoke", args=[preview.pk, link.pk]), HTTP_HX_REQUEST="true"
    )
    assert "That link was already revoked; nobody can open it." in again.content.decode()


def test_a_tampered_or_foreign_token_is_not_found(client_for, marketer, preview):
    _, link, path = create_link(client_for(marketer), preview)
    token = sharing.public_token(link.pk)
    signature = token.split(".", 1)[1]
    forged = [
        token[:-2] + ("AA" if not token.endswith("AA") else "BB"),  # signature changed
        f"{link.pk + 1}.{signature}",  # another row's id under this signature
        str(link.pk),  # no signature at all
        sharing.share_token(preview.pk),  # a staff link's token
        "not-a-token",
        "9" * 30 + "." + signature,
    ]
    for value in forged:
        response = Client().get(reverse("previews:public", args=[value]))
        assert response.status_code == 404, value
        assert "This link is not valid." in response.content.decode()
    # Hostile paths: a NUL byte, odd encodings, a huge token.
    for hostile in ("%00" + token, token + "%C3%28", "%FF%FE." + signature, "a" * 20_000):
        response = Client().get(f"/preview/public/{hostile}/")
        assert response.status_code == 404, hostile[:40]
        assert "This link is not valid." in response.content.decode()
    # A validly signed id whose row is gone (the preview was deleted) is not found either.
    missing = reverse("previews:public", args=[sharing.public_token(link.pk + 1000)])
    assert Client().get(missing).status_code == 404
    assert not PublicShareOpen.objects.exists()


def test_only_a_finished_preview_with_content_can_be_shared(client_for, marketer, preview):
    preview.status = "failed"
    preview.result = None
    preview.problem = {"kind": "auth", "title": "Unknown API key", "detail": "x"}
    preview.save()
    client = client_for(marketer)

    response = client.post(
        reverse("previews:public_link_create", args=[preview.pk]),
        {"days": 7},
        HTTP_HX_REQUEST="true",
    )

    assert (
        "Only a preview that returned content can be shared publicly" in response.content.decode()
    )
    assert not PublicShareLink.objects.exists()


def test_the_lifetime_is_one_of_the_choices_within_the_cap(client_for, marketer, preview, settings):
    settings.PREVIEW_PUBLIC_SHARE_MAX_DAYS = 7
    client = client_for(marketer)
    page = client.get(reverse("previews:detail", args=[preview.pk])).content.decode()
    assert '<option value="7" selected>7 days</option>' in page
    assert 'value="30"' not in page

    for days in (30, 365, "", "x\x00"):
        response = client.post(
            reverse("previews:public_link_create", args=[preview.pk]),
            {"days": days},
            HTTP_HX_REQUEST="true",
        )
        assert response.status_code == 200
        assert "Pick how long the link works" in response.content.decode()
    assert not PublicShareLink.objects.exists()
    # Without JavaScript: back on the preview page, with the sentence.
    response = client.post(
        reverse("previews:public_link_create", args=[preview.pk]), {"days": 1}, follow=True
    )
    assert "Public link created; anyone with it can see this result until" in (
        response.content.decode()
    )


def test_a_flood_from_one_address_writes_a_bounded_number_of_rows(
    client_for, marketer, preview, settings
):
    settings.PREVIEW_PUBLIC_SHARE_OPENS_PER_MINUTE = 3
    _, link, path = create_link(client_for(marketer), preview)
    flood = Client(REMOTE_ADDR="203.0.113.66")

    answers = [flood.get(path).status_code for _ in range(6)]

    assert answers == [200, 200, 200, 429, 429, 429]
    refused = flood.get(path)
    assert "opened too many times from your address" in refused.content.decode()
    assert refused["Retry-After"] == "60"
    assert PublicShareOpen.objects.filter(link=link).count() == 3
    # Another address is not held back by the first one's flood.
    assert Client(REMOTE_ADDR="203.0.113.67").get(path).status_code == 200


def test_a_link_of_another_preview_cannot_be_revoked_through_this_one(
    client_for, marketer, preview
):
    other = PreviewRequest.objects.create(
        account=preview.account, slot_id="home-hero", status="done", result={"content": {}}
    )
    client = client_for(marketer)
    _, link, _ = create_link(client, preview)

    response = client.post(reverse("previews:public_link_revoke", args=[other.pk, link.pk]))

    assert response.status_code == 404
    link.refresh_from_db()
    assert not link.is_revoked


def test_the_audit_trail_names_who_created_and_revoked_a_link(client_for, marketer, admin, preview):
    staff = client_for(marketer)
    _, link, _ = create_link(staff, preview)
    staff.post(reverse("previews:public_link_revoke", args=[preview.pk, link.pk]))

    page = client_for(admin).get(reverse("audit:list")).content.decode()
    assert "Created a public preview link" in page
    assert "Revoked a public preview link" in page
    filtered = client_for(admin).get(
        reverse("audit:list"), {"action": "preview_public_link_revoke"}
    )
    assert "Revoked a public preview link" in filtered.content.decode()
    assert "Created a public preview link" not in filtered.content.decode().split("<tbody")[-1]


def test_a_link_to_a_deleted_preview_is_not_found(client_for, marketer, preview):
    _, link, path = create_link(client_for(marketer), preview)
    assert Client().get(path).status_code == 200

    preview.account.delete()  # cascades to the preview, its links and their opens

    assert not PublicShareLink.objects.exists()
    assert not PublicShareOpen.objects.exists()
    response = Client().get(path)
    assert response.status_code == 404
    assert "This link is not valid." in response.content.decode()


def test_the_public_page_shows_the_names_staff_gave_the_served_ids(
    client, client_for, marketer, preview
):
    """#20: labels show on share pages too; an unnamed id stays an id."""
    from dashboard.previews.models import Label

    Label.objects.create(
        account=preview.account, kind="variant", target_id=VARIANT, name="B: free shipping"
    )
    _, _, path = create_link(client_for(marketer), preview)
    html = client.get(path).content.decode()
    variant = html.split('data-testid="variant">', 1)[1].split("</dd>", 1)[0]
    assert "B: free shipping" in variant
    assert VARIANT not in variant
    experience = html.split('data-testid="experience">', 1)[1].split("</dd>", 1)[0]
    assert EXPERIENCE in experience
    assert PRIVATE["account"] not in html

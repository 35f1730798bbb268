"""Role x URL for every preview page: marketers and admins use it all, support reads
(the slot catalog and the names of ids included).

Anonymous visitors are sent to log in; POSTs that run, change or share need
``use_preview`` (support gets 403 and nothing is written). Public share links (#20) are
made and revoked by anyone who reads previews, and their page is the one preview URL
that is intentionally public: it opens without a login.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard.previews import sharing
from dashboard.previews.models import (
    CatalogSlot,
    CqlEvaluation,
    Label,
    Persona,
    PreviewGrid,
    PreviewRequest,
    PublicShareLink,
)

READ = {"marketer": 200, "support": 200, "admin": 200}
USE = {"marketer": 200, "support": 403, "admin": 200}

# (url name, kwargs key, query string, expected per role)
GET_MATRIX = [
    ("previews:index", None, "", READ),
    ("previews:history", None, "", READ),
    ("previews:diff", None, "pair", READ),
    ("previews:detail", "preview", "", READ),
    ("previews:result", "preview", "", READ),
    ("previews:shared", "token", "", READ),
    ("previews:personas", None, "", READ),
    ("previews:persona_new", None, "", USE),
    ("previews:persona_edit", "persona", "", USE),
    ("previews:grids", None, "", READ),
    ("previews:grid", "grid", "", READ),
    ("previews:grid_cells", "grid", "", READ),
    ("previews:cql", None, "", READ),
    ("previews:cql_result", "evaluation", "", READ),
    ("previews:catalog", None, "", READ),
    ("previews:catalog_search", None, "search", READ),
    ("previews:catalog_new", None, "", USE),
    ("previews:catalog_edit", "slot", "", USE),
    ("previews:labels", None, "", READ),
    ("previews:label", None, "label", READ),
]

# POSTs: (url name, kwargs key, data key) — support is refused, the others succeed.
POST_MATRIX = [
    ("previews:submit", None, "preview_form"),
    ("previews:rerun", "preview", None),
    ("previews:share", "preview", None),
    ("previews:persona_new", None, "persona_form"),
    ("previews:persona_edit", "persona", "persona_form"),
    ("previews:persona_delete", "persona", None),
    ("previews:grids", None, "grid_form"),
    ("previews:grid_baseline", "grid", "baseline"),
    ("previews:cql_run", None, "cql_form"),
    ("previews:catalog_new", None, "catalog_form"),
    ("previews:catalog_edit", "slot", "catalog_form"),
    ("previews:catalog_delete", "slot", None),
    ("previews:label_save", None, "label_form"),
    ("previews:label_delete", "label", None),
]

# POSTs that publish a preview outside the company: preview users only (support reads).
READ_POST_MATRIX = [
    ("previews:public_link_create", "preview", "public_link_form"),
    ("previews:public_link_revoke", "public_link", None),
]

# Intentionally public: opens for anyone holding the link, signed in or not.
PUBLIC_GET = [("previews:public", "public_token")]


@pytest.fixture
def objects(db):
    from dashboard.accounts.models import ConnectedAccount
    from dashboard.accounts.services import credential_build

    account = ConnectedAccount.objects.create(
        provider="croct",
        name="Matrix",
        base_url="http://127.0.0.1:9",
        settings={"app_id": "5f0c2a56-3d1b-4a8e-9c47-2b6d8e1f9a30"},
    )
    credential_build(
        account=account, secrets={"api_key": "9b1e7c4d-2a6f-4e8b-b3c5-7d9a0f1e2c48"}, state="active"
    ).save()
    persona = Persona.objects.create(name="Matrix persona")
    grid = PreviewGrid.objects.create(account=account, slot_id="home-hero", locales=["en"])
    preview = PreviewRequest.objects.create(
        account=account, slot_id="home-hero", status="done", result={"content": {}}, grid=grid
    )
    other = PreviewRequest.objects.create(account=account, slot_id="home-hero", status="done")
    evaluation = CqlEvaluation.objects.create(account=account, query="true", status="done")
    link = PublicShareLink.objects.create(
        preview=preview, expires_at=timezone.now() + timedelta(days=1)
    )
    slot = CatalogSlot.objects.create(account=account, slot_id="home-hero", added_source="staff")
    label = Label.objects.create(account=account, kind="variant", target_id="v-1", name="B")
    return {
        "kwargs": {
            "preview": {"pk": preview.pk},
            "persona": {"pk": persona.pk},
            "grid": {"pk": grid.pk},
            "evaluation": {"pk": evaluation.pk},
            "token": {"token": sharing.share_token(preview.pk)},
            "public_link": {"pk": preview.pk, "link_pk": link.pk},
            "public_token": {"token": sharing.public_token(link.pk)},
            "slot": {"pk": slot.pk},
            "label": {"pk": label.pk},
        },
        "query": {
            "pair": {"a": preview.pk, "b": other.pk},
            "search": {"account": account.pk, "slot_id": "home"},
            "label": {"account": account.pk, "kind": "variant", "id": "v-1"},
        },
        "data": {
            "preview_form": {"account": account.pk, "slot_id": "home-hero"},
            "persona_form": {"name": "Posted persona", "identity_mode": "client_id"},
            "grid_form": {
                "account": account.pk,
                "slot_id": "home-hero",
                "personas": [persona.pk],
                "locales": "en",
            },
            "baseline": {"cell": preview.pk},
            "cql_form": {"account": account.pk, "query": "true"},
            "public_link_form": {"days": 7},
            "catalog_form": {"account": account.pk, "slot_id": "posted-slot"},
            "label_form": {
                "account": account.pk,
                "kind": "audience",
                "target_id": "a-1",
                "name": "Posted",
            },
        },
    }


def _url(name, key, objects):
    return reverse(name, kwargs=objects["kwargs"][key] if key else None)


@pytest.mark.parametrize(("name", "key", "query", "expected"), GET_MATRIX)
def test_anonymous_users_are_sent_to_log_in(client, objects, name, key, query, expected):
    response = client.get(_url(name, key, objects), objects["query"].get(query, {}))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize("role", ["marketer", "support", "admin"])
@pytest.mark.parametrize(("name", "key", "query", "expected"), GET_MATRIX)
def test_each_role_may_open_what_its_permissions_allow(
    client_for, role_users, objects, role, name, key, query, expected
):
    response = client_for(role_users[role]).get(
        _url(name, key, objects), objects["query"].get(query, {})
    )
    assert response.status_code == expected[role], f"{role} GET {name}"


@pytest.mark.parametrize("role", ["marketer", "support", "admin"])
@pytest.mark.parametrize(("name", "key", "data"), POST_MATRIX)
def test_only_marketers_and_admins_may_run_change_or_share(
    client_for, role_users, objects, role, name, key, data
):
    def snapshot():
        return (
            PreviewRequest.objects.count(),
            Persona.objects.count(),
            PreviewGrid.objects.count(),
            CqlEvaluation.objects.count(),
            list(CatalogSlot.objects.values_list("pk", "slot_id", "description")),
            list(Label.objects.values_list("pk", "name")),
        )

    counts = snapshot()
    response = client_for(role_users[role]).post(
        _url(name, key, objects), objects["data"].get(data, {})
    )
    if role == "support":
        assert response.status_code == 403
        assert snapshot() == counts
    else:
        assert response.status_code in (200, 302), response.content.decode()[:500]


def test_support_sees_read_only_pages_without_forms(client_for, support, objects):
    client = client_for(support)
    for name in ("previews:index", "previews:grids", "previews:cql"):
        html = client.get(reverse(name)).content.decode()
        assert 'data-testid="read-only"' in html
        main = html.split('<main class="page">')[1]
        assert 'method="post"' not in main
    detail = client.get(_url("previews:detail", "preview", objects)).content.decode()
    assert 'data-testid="rerun"' not in detail
    assert 'data-testid="share"' not in detail


@pytest.mark.parametrize("role", ["marketer", "support", "admin"])
@pytest.mark.parametrize(("name", "key", "data"), READ_POST_MATRIX)
def test_preview_users_may_make_and_revoke_public_links_support_may_not(
    client_for, role_users, objects, role, name, key, data
):
    before = list(PublicShareLink.objects.values_list("id", "revoked_at"))
    response = client_for(role_users[role]).post(
        _url(name, key, objects), objects["data"].get(data, {})
    )
    if role == "support":
        assert response.status_code == 403
        assert list(PublicShareLink.objects.values_list("id", "revoked_at")) == before
    else:
        assert response.status_code == 302, f"{role} POST {name}"


@pytest.mark.parametrize(("name", "key", "data"), READ_POST_MATRIX)
def test_anonymous_visitors_may_not_make_or_revoke_public_links(client, objects, name, key, data):
    before = list(PublicShareLink.objects.values_list("id", "revoked_at"))
    response = client.post(_url(name, key, objects), objects["data"].get(data, {}))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
    assert list(PublicShareLink.objects.values_list("id", "revoked_at")) == before


@pytest.mark.parametrize("role", [None, "marketer", "support", "admin"])
@pytest.mark.parametrize(("name", "key"), PUBLIC_GET)
def test_the_public_page_opens_for_anyone_signed_in_or_not(
    client, client_for, role_users, objects, role, name, key
):
    user_client = client_for(role_users[role]) if role else client
    response = user_client.get(_url(name, key, objects))
    assert response.status_code == 200, role
    assert 'data-testid="public-share"' in response.content.decode()

"""CSRF is enforced on every POST the console answers, including HTMX posts.

Logged in as an admin (who may do everything, so a 403 can only be the CSRF check), a
POST without a token is refused before the view runs; with the token the page carries
(the form field, or the ``X-CSRFToken`` header htmx sends from ``<body hx-headers>``)
it gets through.
"""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from tests.security.conftest import matrix_post_names, team_snapshot, url_for

POST_NAMES = sorted(matrix_post_names())


def test_the_post_matrices_name_every_kind_of_action():
    # Guards the adapter: these must be among the POSTs checked below.
    for name in ("accounts:toggle", "accounts:rotate", "calls:group_state", "previews:submit"):
        assert name in POST_NAMES
    for name in ("events:replay", "profiles:profile_edit", "profiles:export_control"):
        assert name in POST_NAMES
    for name in ("team:invite", "team:deactivate", "team:mfa_reset", "team:session_end"):
        assert name in POST_NAMES


@pytest.fixture
def strict(admin):
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    return client


def _page_token(client: Client) -> str:
    """The token htmx sends: read from ``<body hx-headers>`` of a rendered page."""
    html = client.get(reverse("overview")).content.decode()
    match = re.search(r"<body hx-headers='([^']*)'", html)
    assert match, "the layout must carry the CSRF header for htmx"
    headers = json.loads(match.group(1))
    token = headers["x-csrftoken"]
    assert token
    assert token != "NOTPROVIDED"
    return token


def _snapshot():
    from dashboard.accounts.models import ConnectedAccount, Credential
    from dashboard.calls.models import ErrorGroup
    from dashboard.events.models import Replay
    from dashboard.previews.models import (
        CqlEvaluation,
        Persona,
        PreviewGrid,
        PreviewRequest,
        PublicShareLink,
    )
    from dashboard.profiles.models import ExportJob, LookupRequest, SyncJob

    return (
        list(ConnectedAccount.objects.values_list("id", "is_enabled", "name")),
        list(PublicShareLink.objects.values_list("id", "revoked_at")),
        list(Credential.objects.values_list("id", "state")),
        list(ErrorGroup.objects.values_list("id", "state")),
        Replay.objects.count(),
        PreviewRequest.objects.count(),
        Persona.objects.count(),
        PreviewGrid.objects.count(),
        CqlEvaluation.objects.count(),
        LookupRequest.objects.count(),
        list(SyncJob.objects.values_list("id", "status")),
        list(ExportJob.objects.values_list("id", "status")),
        team_snapshot(),
    )


@pytest.mark.parametrize("name", POST_NAMES)
def test_a_post_needs_the_token_the_page_carries(strict, world, name):
    url = url_for(name, world)
    before = _snapshot()
    # No token at all (an HTMX request without the body's hx-headers): refused, no change.
    response = strict.post(url, {}, headers={"HX-Request": "true"})
    assert response.status_code == 403, f"{name} accepted a POST without a CSRF token"
    assert _snapshot() == before, f"{name} changed data without a CSRF token"

    token = _page_token(strict)  # sets the CSRF cookie too
    # A token that does not match the cookie: refused.
    response = strict.post(url, {}, headers={"X-CSRFToken": "x" * 64, "HX-Request": "true"})
    assert response.status_code == 403, f"{name} accepted a forged CSRF token"
    assert _snapshot() == before

    # The header htmx sends from <body hx-headers>: through (the admin may do it all).
    response = strict.post(url, {}, headers={"X-CSRFToken": token, "HX-Request": "true"})
    assert response.status_code != 403, (name, response.content.decode()[:300])
    assert response.status_code < 500, name


@pytest.mark.parametrize("name", ["accounts:toggle", "calls:group_state", "previews:share"])
def test_the_form_field_token_gets_through(strict, world, name):
    token = _page_token(strict)
    response = strict.post(url_for(name, world), {"csrfmiddlewaretoken": token, "action": "ack"})
    assert response.status_code != 403, name
    assert response.status_code < 500, name


def test_the_login_form_enforces_csrf_too(db):
    client = Client(enforce_csrf_checks=True)
    response = client.post(reverse("login"), {"username": "x", "password": "y"})
    assert response.status_code == 403

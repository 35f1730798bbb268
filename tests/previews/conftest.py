"""Fixtures for the preview tests: a Croct account on the sandbox, personas, and a
helper that submits a form as htmx and polls the fragment until it says it is done."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.conftest import wait_for


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def croct(demo_account):
    return demo_account("croct", name="Croct shop")


@pytest.fixture
def make_persona(db):
    from dashboard.previews.services import persona_save

    def make(name: str, context: dict | None = None, **identity):
        return persona_save(
            name=name,
            context=context or {},
            identity_mode=identity.get("identity_mode", "random"),
            identity_value=identity.get("identity_value", ""),
        )

    return make


def preview_form(account, **fields) -> dict:
    """POST data for the preview form: an ad-hoc visitor unless fields say otherwise."""
    data = {
        "account": account.pk,
        "slot_id": "home-hero",
        "version": "",
        "locale": "",
        "identity_mode": "",
        "identity_value": "",
    }
    data.update(fields)
    return data


def poll_until_done(client, url: str, timeout: float = 30.0, *, from_page: str = "") -> str:
    """GET ``url`` as htmx until it answers 286 (htmx's stop-polling); its HTML.

    ``from_page`` is the page htmx polls from (its HX-Current-URL header)."""

    from django.contrib.sessions.exceptions import SessionInterrupted
    from django.db import OperationalError

    def finished():
        try:
            headers = {"HTTP_HX_CURRENT_URL": f"http://testserver{from_page}"} if from_page else {}
            answer = client.get(url, HTTP_HX_REQUEST="true", **headers)
        except (OperationalError, SessionInterrupted):
            # SQLite's shared-cache test database refuses a read or the session save while
            # the worker writes ("table is locked"); PostgreSQL never does. Ask again.
            return None
        if answer.status_code == 400:  # the same lock, met while saving the session
            return None
        assert answer.status_code in (200, 286), answer.status_code
        return answer if answer.status_code == 286 else None

    return wait_for(finished, timeout=timeout).content.decode()


def submit_preview(client, account, **fields):
    """Submit the preview form as htmx; (first fragment, finished fragment, row)."""
    from dashboard.previews.models import PreviewRequest

    before = set(PreviewRequest.objects.values_list("pk", flat=True))
    response = client.post(
        reverse("previews:submit"), preview_form(account, **fields), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    first = response.content.decode()
    created = PreviewRequest.objects.exclude(pk__in=before).get()
    # Polled from the preview page (htmx says so in HX-Current-URL), the finished answer
    # also refreshes the page's "Latest previews" list out of band.
    result_url = reverse("previews:result", args=[created.pk])
    assert f'hx-get="{result_url}"' in first
    done = poll_until_done(client, result_url, from_page=reverse("previews:index"))
    assert '<section class="card" id="recent-previews" hx-swap-oob="true">' in done
    assert f'data-preview="{created.pk}"' in done
    created.refresh_from_db()
    return first, done, created

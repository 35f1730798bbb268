"""The leak scan: seed distinctive secrets, run the console's journeys with them, then
search everywhere a secret could escape to — every text column of every table (except
the credential ciphertext), every log line, every page a logged-in admin can reach,
every task message published, and the call log. Zero hits.

The journeys go through the same entry points staff use (forms, HTMX posts, a real
worker against the sandboxes over HTTP), so a new feature that echoes a key into a
page, a task argument or a log line fails here.
"""

from __future__ import annotations

import json
import logging
import re
from collections import deque
from html import unescape

import pytest
from celery.signals import before_task_publish
from django.apps import apps
from django.db import connection
from django.urls import reverse

from dashboard.accounts.models import AccountCheck, ConnectedAccount
from tests.conftest import wait_for

pytestmark = pytest.mark.worker

# Shaped like real keys (the providers validate their format) and found nowhere else.
SECRETS = {
    "croct": {"api_key": "1eaf5ca4-7a3e-4c0d-9b1e-5ecc0ffee001"},
    "octy": {"public_key": "pk_LEAKSCAN_public_4471", "secret_key": "sk_LEAKSCAN_secret_9932"},
    "altcraft": {"token": "LEAKSCAN_altcraft_token_55bd20"},
    "commanders_act": {"source_key": "LEAKSCAN-cact-source+key/=="},
}
# Rejected by the sandboxes (they refuse keys containing 0000dead): these journeys
# produce auth failures, whose Problems and recorded bodies must not quote the key.
REJECTED = {
    "croct": {"api_key": "1eaf5ca4-7a3e-4c0d-9b1e-0000dead0002"},
    "octy": {"public_key": "pk_LEAKSCAN_0000dead_1", "secret_key": "sk_LEAKSCAN_0000dead_2"},
    "altcraft": {"token": "LEAKSCAN_0000dead_altcraft_3"},
}
SKIP_PATHS = ("/logout", "/sandbox/", "/django-admin/", "/static/", "/healthz")
EXCLUDED_COLUMNS = {("accounts_credential", "ciphertext")}


def _needles() -> set[str]:
    values = set()
    for group in (SECRETS, REJECTED):
        for secrets in group.values():
            for value in secrets.values():
                values.add(value)
                # A cut or partly redacted key is still a leak: its first half too.
                values.add(value[: len(value) // 2 + 1])
    return values


def _hits(text: str) -> list[str]:
    return sorted(needle for needle in _needles() if needle in text)


@pytest.fixture
def published():
    """The bodies and headers of every task message sent during the test."""
    messages: list[str] = []

    def capture(body=None, headers=None, **_):
        messages.append(json.dumps([body, headers], default=str))

    before_task_publish.connect(capture, weak=False)
    yield messages
    before_task_publish.disconnect(capture)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _settings_for(provider: str) -> dict[str, str]:
    import importlib

    from integrations.registry import get_provider

    return dict(importlib.import_module(get_provider(provider).sandbox_module).DEMO_SETTINGS)


def _connect(client, sandbox, provider: str, name: str, secrets: dict[str, str]) -> int:
    data = {"name": name, "base_url": sandbox[provider].url}
    data.update({f"setting_{k}": v for k, v in _settings_for(provider).items()})
    data.update({f"secret_{k}": v for k, v in secrets.items()})
    response = client.post(reverse("accounts:connect_provider", args=[provider]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    return ConnectedAccount.objects.get(name=name).pk


def _test_connection(client, account_id: int) -> None:
    response = client.post(reverse("accounts:test", args=[account_id]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    check = AccountCheck.objects.filter(account_id=account_id).latest("pk")
    wait_for(lambda: AccountCheck.objects.get(pk=check.pk).is_done)


def _journeys(client, sandbox) -> None:
    """Everything staff do with keys, through the console's own entry points."""
    for provider, secrets in SECRETS.items():
        account_id = _connect(client, sandbox, provider, f"Leak {provider}", secrets)
        _test_connection(client, account_id)
    for provider, secrets in REJECTED.items():
        account_id = _connect(client, sandbox, provider, f"Leak rejected {provider}", secrets)
        _test_connection(client, account_id)
    # A form that fails validation after the secrets were typed must not echo them.
    bad = {"name": "", "base_url": "not a url"}
    bad.update({f"secret_{k}": v for k, v in SECRETS["croct"].items()})
    response = client.post(reverse("accounts:connect_provider", args=["croct"]), bad)
    assert response.status_code == 422
    assert _hits(response.content.decode()) == []


def _crawl(client, start: str = "/", limit: int = 400) -> dict[str, str]:
    """Every page reachable by links and htmx GETs from ``start`` (same site only)."""
    link = re.compile(r'(?:href|hx-get|src)="(/[^"#]*)"')
    seen: dict[str, str] = {}
    queue = deque([start])
    while queue and len(seen) < limit:
        path = queue.popleft()
        if path in seen or path.startswith(SKIP_PATHS):
            continue
        response = client.get(path, HTTP_HX_REQUEST="true" if "hx" in path else None)
        raw = b"".join(response.streaming_content) if response.streaming else response.content
        body = raw.decode(errors="replace") if response.status_code < 400 else ""
        seen[path] = body
        for found in link.findall(body):
            found = unescape(found)
            if found not in seen:
                queue.append(found)
    return seen


def _database_hits() -> list[str]:
    found = []
    with connection.cursor() as cursor:
        for model in apps.get_models():
            table = model._meta.db_table
            for field in model._meta.concrete_fields:
                if field.get_internal_type() not in {"CharField", "TextField", "JSONField"}:
                    continue
                if (table, field.column) in EXCLUDED_COLUMNS:
                    continue
                column = connection.ops.quote_name(field.column)
                for needle in _needles():
                    cursor.execute(
                        f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)} "  # noqa: S608
                        f"WHERE CAST({column} AS TEXT) LIKE %s",
                        [f"%{needle}%"],
                    )
                    if cursor.fetchone()[0]:
                        found.append(f"{table}.{field.column} holds {needle!r}")
    return found


def test_no_secret_escapes_to_pages_logs_tasks_or_the_database(
    celery_worker, sandbox, admin, client_for, published, caplog, capfd
):
    caplog.set_level(logging.DEBUG)
    client = client_for(admin)

    _journeys(client, sandbox)
    pages = _crawl(client)

    assert len(pages) > 10, "the crawl should reach the console's pages"
    leaks = [f"page {path}: {_hits(body)}" for path, body in pages.items() if _hits(body)]
    leaks += [f"task message: {_hits(m)}" for m in published if _hits(m)]
    assert published, "the journeys should have queued tasks"
    leaks += [f"log: {_hits(caplog.text)}"] if _hits(caplog.text) else []
    out, err = capfd.readouterr()
    leaks += [f"process output: {_hits(out + err)}"] if _hits(out + err) else []
    leaks += _database_hits()
    assert leaks == []


def test_the_scan_finds_a_planted_leak(db, admin, client_for):
    # The scanner itself must see a secret where one is: plant one in an innocent column.
    ConnectedAccount.objects.create(
        provider="croct",
        name=f"oops {SECRETS['croct']['api_key']}",
        base_url="http://127.0.0.1:9",
        settings={},
    )
    assert any("accounts_connectedaccount.name" in hit for hit in _database_hits())
    pages = _crawl(client_for(admin), start=reverse("accounts:list"), limit=5)
    assert any(_hits(body) for body in pages.values())

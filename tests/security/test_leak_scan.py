"""The leak scan: seed distinctive secrets, run the console's journeys with them, then
search everywhere a secret could escape to — every text column of every table (except
the ciphertext columns), every log line, every page each role can reach, every task
message published, command output, and the call log. Zero hits.

The journeys go through the same entry points staff use (forms, HTMX posts, a real
worker against the sandboxes over HTTP, the management commands), so a new feature
that echoes a key into a page, a task argument or a log line fails here.

What counts as a hit: the whole secret, its first half, its last eight characters
(pages may show the last four as a hint, nothing longer), and the encodings a secret
travels in (URL-quoted, the base64 of Octy's ``public:secret`` Basic token).
"""

from __future__ import annotations

import base64
import json
import logging
import re
import sys
import time
from collections import deque
from datetime import UTC, datetime, timedelta
from html import unescape
from io import StringIO
from urllib.parse import quote

import pytest
from celery.signals import before_task_publish
from cryptography.fernet import Fernet
from django.apps import apps
from django.contrib.sessions.exceptions import SessionInterrupted
from django.core.management import CommandError, call_command
from django.db import OperationalError, connection
from django.test import Client
from django.urls import reverse

from dashboard.accounts.models import AccountCheck, ConnectedAccount, Credential
from dashboard.calls.curl import curl_for_call
from dashboard.calls.models import ApiCall
from dashboard.events.models import EventStatus, OutboundEvent, Replay
from dashboard.previews.models import CqlEvaluation, PreviewRequest
from dashboard.profiles.models import ExportJob, LookupRequest, LookupResult
from integrations.croct import tokens
from integrations.croct.sandbox_content import build_catalog
from tests.conftest import wait_for
from tests.profiles.conftest import poll_url

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
# Key rotation: through the pages (verified and promoted; refused), and the command.
ROTATED = {"api_key": "ab5c17e0-6d2f-4e91-8c3a-7f0ca7a1b0d3"}
ROTATION_REFUSED = {"api_key": "be7d2c19-0000-4dea-8d00-0000dead0b57"}
# Not a key at all (fails the format check): the refusal must not quote it.
MALFORMED = {"api_key": "LEAKSCAN-malformed-key-77e1"}
COMMAND_ROTATED = {
    "public_key": "pk_LEAKSCAN_cmdrot_6610",
    "secret_key": "sk_LEAKSCAN_cmdrot_8207",
}
# A preview token that forces a variant (the sandbox reads its claims): stored
# encrypted, shown as its last four characters only.
_BRAZIL = next(
    e
    for group in build_catalog(7).experiences.values()
    for e in group
    if e.name == "brazil-welcome"
)
PREVIEW_TOKEN = (
    "e30."
    + tokens.b64url_encode(
        json.dumps(
            {
                "experienceId": _BRAZIL.experience_id,
                "variantId": _BRAZIL.variants[2].variant_id,
                "leakscan": "previewtoken-5b9e",
            }
        ).encode()
    )
    + ".TEVBS1NDQU5fcHJldmlld19zaWdfOTE3Mg"
)
SKIP_PATHS = ("/logout", "/sandbox/", "/django-admin/", "/static/", "/healthz")
EXCLUDED_COLUMNS = {
    ("accounts_credential", "ciphertext"),
    ("previews_previewrequest", "preview_token_ciphertext"),
}


def _secret_values() -> list[str]:
    values = [PREVIEW_TOKEN]
    for group in (SECRETS, REJECTED):
        for secrets in group.values():
            values.extend(secrets.values())
    for secrets in (ROTATED, ROTATION_REFUSED, MALFORMED, COMMAND_ROTATED):
        values.extend(secrets.values())
    return values


def _needles() -> set[str]:
    needles = set()
    for value in _secret_values():
        needles.add(value)
        # A cut or partly redacted key is still a leak: its first half too...
        needles.add(value[: len(value) // 2 + 1])
        # ...and its end: pages may show the last four characters as a hint, no more.
        needles.add(value[-8:])
        needles.add(quote(value, safe=""))  # as it would sit in a URL or a form body
    for secrets in (SECRETS["octy"], REJECTED["octy"], COMMAND_ROTATED):
        basic = f"{secrets['public_key']}:{secrets['secret_key']}".encode()
        needles.add(base64.b64encode(basic).decode())  # Octy's Basic token
    return needles


NEEDLES = _needles()


def _hits(text: str) -> list[str]:
    return sorted(needle for needle in NEEDLES if needle in text)


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


def _tolerant(predicate):
    """``predicate`` for wait_for counting SQLite's "table is locked" (the shared-cache
    test database refuses a read or a session save while the worker writes) as "not
    yet"; PostgreSQL never does."""

    def check():
        try:
            return predicate()
        except (OperationalError, SessionInterrupted):
            return None

    return check


def _poll(client, url: str, timeout: float = 30.0, **headers) -> str:
    """GET ``url`` as htmx until it answers 286 (stop polling); its HTML."""

    def finished():
        answer = client.get(url, HTTP_HX_REQUEST="true", **headers)
        if answer.status_code == 400:  # the same lock, met while saving the session
            return None
        assert answer.status_code in (200, 286), (url, answer.status_code)
        return answer if answer.status_code == 286 else None

    return wait_for(_tolerant(finished), timeout=timeout).content.decode()


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


def _test_connection(client, account_id: int) -> AccountCheck:
    response = client.post(reverse("accounts:test", args=[account_id]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    check = AccountCheck.objects.filter(account_id=account_id).latest("pk")
    wait_for(_tolerant(lambda: AccountCheck.objects.get(pk=check.pk).is_done))
    return AccountCheck.objects.get(pk=check.pk)


def _connect_accounts(client, sandbox, seen: list[str]) -> dict[str, int]:
    """Every provider with a good key and (but Commanders Act) a refused one."""
    ids = {}
    for provider, secrets in SECRETS.items():
        ids[provider] = _connect(client, sandbox, provider, f"Leak {provider}", secrets)
        assert _test_connection(client, ids[provider]).status in ("ok", "unsupported"), provider
    for provider, secrets in REJECTED.items():
        account_id = _connect(client, sandbox, provider, f"Leak rejected {provider}", secrets)
        ids[f"rejected {provider}"] = account_id
        assert _test_connection(client, account_id).status == "failed", provider
    # A form that fails validation after the secrets were typed must not echo them.
    bad = {"name": "", "base_url": "not a url"}
    bad.update({f"secret_{k}": v for k, v in SECRETS["croct"].items()})
    response = client.post(reverse("accounts:connect_provider", args=["croct"]), bad)
    assert response.status_code == 422
    seen.append(response.content.decode())
    return ids


def _rotate(client, account_id: int, secrets: dict[str, str], seen: list[str]) -> Credential:
    """The Rotate key form, then its panel polled until the worker settles the key."""
    data = {f"secret_{k}": v for k, v in secrets.items()}
    data["overlap_hours"] = "6"
    before = set(Credential.objects.values_list("pk", flat=True))
    response = client.post(reverse("accounts:rotate", args=[account_id]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    seen.append(client.get(response.url).content.decode())
    credential = Credential.objects.exclude(pk__in=before).get()
    url = reverse("accounts:rotation_status", args=[account_id, credential.pk])
    seen.append(_poll(client, url))
    credential.refresh_from_db()
    return credential


def _rotations(client, ids: dict[str, int], seen: list[str], settings) -> None:
    croct = ids["croct"]
    original = Credential.objects.get(account_id=croct, state="active")
    # Refused forms, with the keys typed in: a malformed key, a window too long.
    for secrets, hours in ((MALFORMED, "6"), (ROTATED, "100000")):
        data = {f"secret_{k}": v for k, v in secrets.items()}
        response = client.post(
            reverse("accounts:rotate", args=[croct]), {**data, "overlap_hours": hours}
        )
        assert response.status_code in (200, 422), response.status_code
        assert 'class="errorlist' in response.content.decode()
        seen.append(response.content.decode())
    assert not Credential.objects.filter(account_id=croct).exclude(pk=original.pk).exists()
    promoted = _rotate(client, croct, ROTATED, seen)
    assert promoted.state == "active"
    refused = _rotate(client, croct, ROTATION_REFUSED, seen)
    assert refused.state == "failed"
    assert 'data-testid="problem"' in seen[-1]  # the provider's Problem, shown
    response = client.post(reverse("accounts:rollback", args=[croct]))
    assert response.status_code == 302
    seen.append(client.get(response.url).content.decode())
    original.refresh_from_db()
    assert original.state == "active"  # rolled back to the first key
    # From a script: the Octy account gets two new keys, verified in-process.
    out, err = StringIO(), StringIO()
    secrets = [f"{k}={v}" for k, v in COMMAND_ROTATED.items()]
    call_command(
        "rotate_credential",
        str(ids["octy"]),
        "--secret",
        secrets[0],
        "--secret",
        secrets[1],
        "--json",
        stdout=out,
        stderr=err,
    )
    assert json.loads(out.getvalue())["credential"]["state"] == "active"
    seen += [out.getvalue(), err.getvalue()]
    # Bad input to the command: refused (exit status 2) without quoting the key.
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as refused:
        call_command(
            "rotate_credential",
            str(croct),
            "--secret",
            f"api_key={MALFORMED['api_key']}",
            stdout=out,
            stderr=err,
        )
    assert refused.value.returncode == 2
    seen += [str(refused.value), out.getvalue(), err.getvalue()]
    # A new encryption key, then every stored secret re-encrypted under it.
    settings.FIELD_ENCRYPTION_KEYS = [
        Fernet.generate_key().decode(),
        *settings.FIELD_ENCRYPTION_KEYS,
    ]
    out, err = StringIO(), StringIO()
    call_command("reencrypt_credentials", "--json", stdout=out, stderr=err)
    assert json.loads(out.getvalue())["reencrypted"] > 0
    seen += [out.getvalue(), err.getvalue()]


def _previews(client, ids: dict[str, int], seen: list[str]) -> None:
    form = {
        "account": ids["croct"],
        "slot_id": "home-hero",
        "version": "",
        "locale": "",
        "identity_mode": "",
        "identity_value": "",
        "preview_token": PREVIEW_TOKEN,
    }
    # Refused (not a version) with the token typed: the token is not echoed.
    refused = client.post(reverse("previews:submit"), {**form, "version": "x.y"})
    assert refused.status_code in (200, 422), refused.status_code
    assert not PreviewRequest.objects.exists()
    seen.append(refused.content.decode())
    response = client.post(reverse("previews:submit"), form, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    seen.append(response.content.decode())
    preview = PreviewRequest.objects.latest("pk")
    # Polled from the preview page: the answer also carries the "Latest previews" list.
    index = "http://testserver" + reverse("previews:index")
    seen.append(
        _poll(client, reverse("previews:result", args=[preview.pk]), HTTP_HX_CURRENT_URL=index)
    )
    preview.refresh_from_db()
    assert preview.status == "done"
    assert preview.result["variant_id"] == _BRAZIL.variants[2].variant_id  # the token worked
    assert preview.preview_token_hint == PREVIEW_TOKEN[-4:]
    page = client.get(reverse("previews:detail", args=[preview.pk])).content.decode()
    assert f"…{PREVIEW_TOKEN[-4:]}" in page  # the hint, and (the scan checks) no more
    seen.append(page)
    # A public share link (#20) to that preview, and what an outsider sees through it.
    panel = client.post(
        reverse("previews:public_link_create", args=[preview.pk]),
        {"days": 1},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    seen.append(panel)
    public_url = re.search(r'value="http://testserver(/preview/public/[^"]+)"', panel).group(1)
    outsider = Client().get(public_url)
    assert outsider.status_code == 200
    seen.append(outsider.content.decode())
    response = client.post(
        reverse("previews:cql_run"),
        {"account": ids["croct"], "query": "context's plan is 'pro'", "identity_mode": ""},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    evaluation = CqlEvaluation.objects.latest("pk")
    seen.append(_poll(client, reverse("previews:cql_result", args=[evaluation.pk])))
    evaluation.refresh_from_db()
    assert evaluation.status == "done"


def _compose(client, account_id: int, payload: dict, seen: list[str]) -> OutboundEvent:
    response = client.post(
        reverse("events:compose"),
        # Croct needs the page the event happened on (its only option the others ignore).
        {
            "account": account_id,
            "payload": json.dumps(payload),
            "action": "send",
            "url": "https://shop.example/checkout",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    event = OutboundEvent.objects.latest("pk")
    wait_for(
        _tolerant(lambda: OutboundEvent.objects.get(pk=event.pk).is_final),
        timeout=30,
    )
    seen.append(client.get(response.url).content.decode())
    event.refresh_from_db()
    return event


def _events(client, ids: dict[str, int], sandbox, seen: list[str]) -> None:
    from integrations.registry import get_provider

    def template(provider: str, name: str) -> dict:
        return dict(get_provider(provider).events.templates[name])

    octy_profile = sandbox["octy"].app.store.find("cust-00001")["profile_id"]
    octy_event = {**template("octy", "charged"), "profile_id": octy_profile}
    sent = [
        (ids["croct"], template("croct", "goalCompleted")),
        (ids["commanders_act"], template("commanders_act", "purchase")),
        (ids["octy"], octy_event),
    ]
    for account_id, payload in sent:
        event = _compose(client, account_id, payload, seen)
        assert event.status == EventStatus.DELIVERED, (event.provider, event.status)
        # The key travelled in the Authorization header (Octy) or the ``token`` query
        # parameter (Commanders Act's collect endpoint): the call log holds it redacted.
        # The worker's writer thread saves the call a moment after the attempt.
        exchange_id = event.attempts.get().exchange_id
        call = wait_for(
            lambda exchange_id=exchange_id: ApiCall.objects.filter(exchange_id=exchange_id).first()
        )
        headers = {k.lower(): v for k, v in call.request_headers.items()}
        if event.provider == "octy":
            assert headers["authorization"].endswith(" [REDACTED]"), headers
        if event.provider == "commanders_act":
            assert "token=%5BREDACTED%5D" in call.url or "token=[REDACTED]" in call.url, call.url
    # Refused for its key: a failure, then a replay of it (same bytes, same key).
    failed = _compose(client, ids["rejected octy"], octy_event, seen)
    assert failed.status == EventStatus.FAILED
    response = client.post(reverse("events:replay"), {"event": failed.pk})
    assert response.status_code == 302
    replay = Replay.objects.latest("pk")
    wait_for(_tolerant(lambda: Replay.objects.get(pk=replay.pk).is_done), timeout=30)
    seen.append(client.get(response.url).content.decode())
    assert failed.attempts.filter(replay=replay).exists()


def _profiles(client, ids: dict[str, int], sandbox, seen: list[str]) -> None:
    response = client.post(reverse("profiles:index"), {"q": "ada@example.com"})
    assert response.status_code == 302
    seen.append(_poll(client, response["Location"]))
    lookup = LookupRequest.objects.latest("pk")
    octy = LookupResult.objects.get(request=lookup, account_id=ids["octy"])
    assert octy.status == "found"  # through the key the command rotated in
    assert LookupResult.objects.get(request=lookup, account_id=ids["rejected octy"]).problem
    profile_id = octy.profiles[0]["profile_id"]
    page = client.get(reverse("profiles:profile", args=[ids["octy"], profile_id]))
    assert page.status_code == 200
    seen.append(page.content.decode())
    # An attribute saved through the worker (#16: a page's provider calls are tasks).
    edit = client.post(
        reverse("profiles:profile_edit", args=[ids["octy"], profile_id]),
        {"name": "plan", "value": "gold"},
        HTTP_HX_REQUEST="true",
    )
    seen.append(_poll(client, poll_url(edit.content.decode())))
    # A Croct export of one day of events.
    start = datetime.fromtimestamp(sandbox["croct"].app.export.t0 / 1000, tz=UTC)
    response = client.post(
        reverse("profiles:exports"),
        {
            "account": ids["croct"],
            "kind": "events",
            "start": start.strftime("%Y-%m-%d %H:%M"),
            "end": (start + timedelta(days=1)).strftime("%Y-%m-%d %H:%M"),
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    job = ExportJob.objects.latest("pk")
    seen.append(_poll(client, reverse("profiles:export_job", args=[job.pk])))
    job.refresh_from_db()
    assert job.status == "done"
    assert job.items_written > 0


def _journeys(client, sandbox, settings) -> list[str]:
    """Everything staff do with keys, through the console's own entry points; the
    pages and command output seen on the way."""
    seen: list[str] = []
    ids = _connect_accounts(client, sandbox, seen)
    _rotations(client, ids, seen, settings)
    _previews(client, ids, seen)
    _events(client, ids, sandbox, seen)
    _profiles(client, ids, sandbox, seen)
    return seen


def _team(admin_client, seen) -> tuple[Client, set[str]]:
    """Invite an admin, accept the one-time link, enrol an authenticator app and sign in
    with a recovery code. Returns the invitee's client and the new secrets (the invite
    token, the TOTP secret, the recovery codes): after the pages that must show them
    (the link itself, the enrolment page, the codes shown once) they appear nowhere."""
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
    from django.core import mail

    response = admin_client.post(
        reverse("team:invite"),
        {"username": "leak-invitee", "email": "invitee@example.com", "role": "admin"},
    )
    assert response.status_code == 302
    link = re.search(r"https?://\S+/team/join/([\w-]+)/", mail.outbox[-1].body)
    token = link.group(1)
    invitee = Client()
    path = reverse("team:accept", args=[token])
    seen.append(invitee.get(path).content.decode())
    password = "leakscan-invitee-Passw0rd-81"
    invitee.post(path, {"password1": password, "password2": password})
    invitee.post(reverse("login"), {"username": "leak-invitee", "password": password})
    enrol = invitee.get(reverse("mfa_activate_totp")).content.decode()  # shows the secret
    secret = re.search(r'value="([A-Z2-7]{32})"', enrol).group(1)
    code = format_hotp_value(hotp_value(secret, int(time.time()) // 30))
    done = invitee.post(reverse("mfa_activate_totp"), {"code": code})
    shown = invitee.get(done.url).content.decode()  # the recovery codes, shown once
    codes = re.findall(r"\b[0-9a-f]{8}\b", unescape(shown))
    assert len(codes) >= 10
    invitee.post(reverse("logout"))
    invitee.post(reverse("login"), {"username": "leak-invitee", "password": password})
    answer = invitee.post(reverse("mfa_authenticate"), {"code": codes[0]})
    assert answer.status_code == 302
    seen.append(invitee.get(reverse("team:security")).content.decode())
    seen.append(admin_client.get(reverse("team:list")).content.decode())
    secrets = {token, token[: len(token) // 2 + 1], secret, secret[: len(secret) // 2 + 1]}
    return invitee, secrets | set(codes)


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
                for needle in NEEDLES:
                    # LIKE's wildcards in a needle (``_``, the ``%`` of a URL-quoted key)
                    # match themselves only.
                    literal = re.sub(r"([!%_])", r"!\1", needle)
                    cursor.execute(
                        f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)} "  # noqa: S608
                        f"WHERE CAST({column} AS TEXT) LIKE %s ESCAPE '!'",
                        [f"%{literal}%"],
                    )
                    if cursor.fetchone()[0]:
                        found.append(f"{table}.{field.column} holds {needle!r}")
    return found


def _leaks(*, pages, published, log_text, output, seen=()) -> list[str]:
    """Every channel searched: pages, other answers seen, task messages, log lines,
    process output, and the database (the call log included)."""
    leaks = [f"page {path}: {_hits(body)}" for path, body in pages.items() if _hits(body)]
    leaks += [f"answer: {_hits(text)}" for text in seen if _hits(text)]
    leaks += [f"task message: {_hits(m)}" for m in published if _hits(m)]
    leaks += [f"log: {_hits(log_text)}"] if _hits(log_text) else []
    leaks += [f"process output: {_hits(output)}"] if _hits(output) else []
    leaks += _database_hits()
    return leaks


def _logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_no_secret_escapes_to_pages_logs_tasks_or_the_database(
    celery_worker, sandbox, admin, marketer, support, client_for, published, caplog, capfd, settings
):
    caplog.set_level(logging.DEBUG)
    client = client_for(admin)

    seen = _journeys(client, sandbox, settings)
    invitee, team_secrets = _team(client, seen)
    NEEDLES.update(team_secrets)
    pages = {}
    for role, user_client in (
        ("admin", client),
        ("marketer", _logged_in(marketer)),
        ("support", _logged_in(support)),
        ("invited admin", invitee),
    ):
        crawled = _crawl(user_client)
        assert len(crawled) > 10, f"the crawl should reach the console's pages as {role}"
        pages.update({f"{path} ({role})": body for path, body in crawled.items()})

    # Every kind of work the journeys hand to the worker was published (and searched).
    sent = {json.loads(m)[1].get("task") for m in published}
    assert sent >= {
        "accounts.run_check",
        "accounts.verify_credential",
        "previews.run_preview",
        "previews.run_evaluation",
        "events.dispatch",
        "events.replay",
        "profiles.lookup",
        "profiles.profile_work",
        "profiles.export",
    }, sent
    # Copy as cURL (#20): the command of every recorded call, as the clipboard gets it.
    commands = [curl_for_call(call).text for call in ApiCall.objects.all()]
    assert any("$OCTY_SECRET_KEY" in c for c in commands)
    assert any("$COMMANDERS_ACT_SOURCE_KEY" in c for c in commands)
    assert any('data-testid="curl-text"' in body for body in pages.values())
    seen += commands
    out, err = capfd.readouterr()
    leaks = _leaks(
        pages=pages, published=published, log_text=caplog.text, output=out + err, seen=seen
    )
    assert leaks == []


def test_the_scan_finds_a_planted_leak(db, admin, client_for, published, caplog, capfd):
    from dashboard.celery import app

    caplog.set_level(logging.DEBUG)
    key = SECRETS["croct"]["api_key"]
    # The scanner itself must see a secret where one is: plant one in an innocent column,
    ConnectedAccount.objects.create(
        provider="croct", name=f"oops {key}", base_url="http://127.0.0.1:9", settings={}
    )
    # a log line (only its last eight characters: longer than the allowed hint),
    logging.getLogger("dashboard.accounts").warning("verifying key …%s", key[-8:])
    # a task message (a first half in the arguments; never consumed: no worker),
    app.send_task("accounts.verify_credential", args=[key[: len(key) // 2 + 1]])
    # and the process output (URL-quoted, as in a query string).
    sys.stderr.write(f"GET /?key={quote(SECRETS['commanders_act']['source_key'], safe='')}\n")
    pages = _crawl(client_for(admin), start=reverse("accounts:list"), limit=5)
    out, err = capfd.readouterr()

    leaks = _leaks(pages=pages, published=published, log_text=caplog.text, output=out + err)

    assert any("accounts_connectedaccount.name" in leak for leak in leaks)
    assert any(leak.startswith("page ") for leak in leaks)
    assert any(leak.startswith("log: ") for leak in leaks)
    assert any(leak.startswith("task message: ") for leak in leaks)
    assert any(leak.startswith("process output: ") for leak in leaks)
    # The hint pages show (the last four characters) is not a leak.
    assert _hits(f"key …{key[-4:]}") == []

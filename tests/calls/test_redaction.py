"""Secrets never leave the encrypted column: not in the call log, pages, audit trail,
command output or logs, whether the calls succeed or fail."""

from __future__ import annotations

import json
import logging
import threading
from io import StringIO
from urllib.parse import quote

import pytest
from auditlog.models import LogEntry
from django.core.management import call_command
from django.urls import reverse
from werkzeug.serving import make_server

from dashboard.accounts.models import AccountCheck, ConnectedAccount
from dashboard.accounts.services import account_check_run, account_connect, provider_client
from dashboard.calls.models import ApiCall
from integrations.croct.sandbox import DEMO_SETTINGS as CROCT_SETTINGS
from integrations.errors import ProviderError
from integrations.octy.client import basic_token
from integrations.sandbox import Fault
from tests.conftest import flush_call_log

CANARIES = {
    "croct": {
        "settings": {"setting_app_id": CROCT_SETTINGS["app_id"]},
        "secrets": {"api_key": "5ec7e7ca-ca7a-4a7e-8ec7-5ec7e7cafe01"},
    },
    "octy": {
        "settings": {},
        "secrets": {
            "public_key": "pk_SECRETCANARY_public_77",
            "secret_key": "sk_SECRETCANARY_secret_88",
        },
    },
    "altcraft": {
        "settings": {"setting_db_id": "1", "setting_resource_id": "1", "setting_format": "json"},
        "secrets": {"token": "SECRETCANARY_altcraft_token_0001"},
    },
    "commanders_act": {
        "settings": {"setting_site_id": "1234"},
        "secrets": {"source_key": "SECRETCANARY ca source/key+=="},
    },
}

CALLS = {
    "croct": lambda c: c.evaluate("true", client_id="6a1b3c5d-0000-4000-8000-000000000001"),
    "octy": lambda c: c.event_types("0"),
    "altcraft": lambda c: c.list_profiles(limit=1),
    "commanders_act": lambda c: c.send_event(
        {"event_name": "page_view", "user": {"id": "u1"}, "context": {}}
    ),
}


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def forbidden_strings(provider: str) -> list[str]:
    secrets = CANARIES[provider]["secrets"]
    values = list(secrets.values())
    if provider == "octy":
        public, secret = secrets["public_key"], secrets["secret_key"]
        values += [basic_token(public, secret), f"{public}:{secret}"]
    return list(dict.fromkeys(values + [quote(v, safe="") for v in values]))


def assert_nowhere(sources: dict[str, str], provider: str) -> None:
    leaks = [
        f"{where} contains {secret!r}"
        for secret in forbidden_strings(provider)
        for where, text in sources.items()
        if secret in text or json.dumps(secret)[1:-1] in text
    ]
    assert not leaks, "secrets leaked:\n" + "\n".join(leaks)


def page_texts(client, account: ConnectedAccount) -> dict[str, str]:
    urls = {
        "accounts list": reverse("accounts:list"),
        "account detail": reverse("accounts:detail", args=[account.pk]),
        "account edit": reverse("accounts:edit", args=[account.pk]),
        "calls list": reverse("calls:list"),
        "errors list": reverse("calls:errors"),
        "audit list": reverse("audit:list"),
        "overview": reverse("overview"),
    }
    for call in ApiCall.objects.all():
        urls[f"call detail {call.pk}"] = reverse("calls:detail", args=[call.pk])
    for check in AccountCheck.objects.all():
        urls[f"check {check.pk}"] = reverse("accounts:check", args=[account.pk, check.pk])
    texts = {}
    for label, url in urls.items():
        response = client.get(url)
        assert response.status_code == 200, label
        texts[label] = response.content.decode()
    return texts


def stored_texts() -> dict[str, str]:
    out = StringIO()
    call_command("list_accounts", "--json", stdout=out)
    return {
        "ApiCall rows": repr(list(ApiCall.objects.values())),
        "AccountCheck rows": repr(list(AccountCheck.objects.values())),
        "ConnectedAccount rows": repr(list(ConnectedAccount.objects.values())),
        "audit log": repr(list(LogEntry.objects.values())),
        "list_accounts --json": out.getvalue(),
    }


def log_texts(caplog) -> dict[str, str]:
    return {
        "captured logs": caplog.text,
        "log records": "\n".join(repr(vars(r)) for r in caplog.records),
    }


@pytest.mark.parametrize("provider", sorted(CANARIES))
def test_secrets_appear_in_no_call_page_audit_entry_command_output_or_log(
    client_for, admin, sandbox, caplog, provider
):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="urllib3")
    client = client_for(admin)
    data = {"name": f"Canary {provider}", "base_url": sandbox[provider].url}
    data.update(CANARIES[provider]["settings"])
    data.update({f"secret_{k}": v for k, v in CANARIES[provider]["secrets"].items()})
    response = client.post(reverse("accounts:connect_provider", args=[provider]), data)
    assert response.status_code == 302
    account = ConnectedAccount.objects.get()

    # A success, then a failure, then a check (success for verifiable providers).
    CALLS[provider](provider_client(account))
    sandbox[provider].app.faults.add(Fault(kind="status", status=503))
    with pytest.raises(ProviderError):
        CALLS[provider](provider_client(account))
    sandbox[provider].app.faults.clear()
    check = AccountCheck.objects.create(account=account)
    account_check_run(check_id=check.pk)
    # An edit and a toggle leave audit entries too.
    client.post(reverse("accounts:toggle", args=[account.pk]))

    outcomes = set(ApiCall.objects.values_list("outcome", flat=True))
    assert outcomes == {"ok", "failed"}
    assert LogEntry.objects.exists()
    assert_nowhere({**page_texts(client, account), **stored_texts(), **log_texts(caplog)}, provider)


# --- a provider that quotes the key back in its error -------------------------------------
def _croct_quoting_the_key(environ, start_response):
    key = environ.get("HTTP_X_API_KEY", "")
    body = json.dumps(
        {
            "type": "https://croct.help/api/authentication/unknown-api-key",
            "title": "Unknown API key",
            "status": 401,
            "detail": f"No such API key: {key}",
        }
    ).encode()
    start_response("401 Unauthorized", [("Content-Type", "application/problem+json")])
    return [body]


@pytest.fixture
def quoting_server():
    server = make_server("127.0.0.1", 0, _croct_quoting_the_key, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_a_key_quoted_back_in_a_provider_error_is_not_stored_or_shown(
    db, client_for, admin, quoting_server
):
    account = account_connect(
        provider="croct",
        name="Quoting",
        base_url=quoting_server,
        settings=dict(CROCT_SETTINGS),
        secrets=dict(CANARIES["croct"]["secrets"]),
    )
    check = AccountCheck.objects.create(account=account)

    check = account_check_run(check_id=check.pk)

    assert check.status == "failed"
    flush_call_log()
    call = ApiCall.objects.get()
    assert call.problem_kind == "auth"
    assert "[REDACTED]" in call.response_body  # the raw body is already redacted
    assert_nowhere({**page_texts(client_for(admin), account), **stored_texts()}, "croct")

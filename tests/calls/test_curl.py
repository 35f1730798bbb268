"""Copy as cURL (#20): a real call through each provider's sandbox, then the command
built from the call log: method, URL, body and named placeholders, never the secret.
Run with the secrets in the environment, the command gets the same answer."""

from __future__ import annotations

import base64
import os
import subprocess
import uuid
from urllib.parse import quote, quote_plus

import pytest
from django.urls import reverse

from dashboard.accounts.encryption import decrypt_secrets
from dashboard.accounts.models import Credential
from dashboard.accounts.services import provider_client
from dashboard.calls.curl import curl_for_call
from dashboard.calls.models import ApiCall
from integrations.registry import get_provider
from tests.conftest import flush_call_log

CA_PURCHASE = get_provider("commanders_act").events.templates["purchase"]
CALLS = {
    "croct": lambda c: c.evaluate("true", client_id=str(uuid.uuid4())),
    "octy": lambda c: c.event_types("0"),
    "altcraft": lambda c: c.list_profiles(limit=1),
    "commanders_act": lambda c: c.send_event(dict(CA_PURCHASE)),
}
PLACEHOLDERS = {
    "croct": ["$CROCT_API_KEY"],
    "octy": ["$OCTY_PUBLIC_KEY", "$OCTY_SECRET_KEY"],
    "altcraft": ["$ALTCRAFT_TOKEN"],
    "commanders_act": ["$COMMANDERS_ACT_SOURCE_KEY"],
}


def _recorded(demo_account, provider: str):
    account = demo_account(provider)
    CALLS[provider](provider_client(account))
    flush_call_log()
    call = ApiCall.objects.get()
    secrets = decrypt_secrets(Credential.objects.get(account=account).ciphertext)
    return account, call, secrets


def _encodings(values: list[str]) -> set[str]:
    found = set()
    for value in values:
        found |= {value, quote(value, safe=""), quote_plus(value)}
        found.add(base64.b64encode(value.encode()).decode())
    return found


@pytest.mark.parametrize("provider", sorted(CALLS))
def test_the_command_is_the_request_with_named_placeholders_and_no_secret(demo_account, provider):
    _, call, secrets = _recorded(demo_account, provider)

    curl = curl_for_call(call)

    assert curl.text.startswith(f"curl -X {call.method} ")
    assert call.url.split("?")[0] in curl.text
    for placeholder in PLACEHOLDERS[provider]:
        assert placeholder in curl.text
        assert placeholder in dict(curl.placeholders)
    assert "[REDACTED]" not in curl.text
    if call.request_body:
        assert "--data-raw" in curl.text
    # Every form of every secret the recorder knows, in every encoding it travels in.
    for needle in _encodings(get_provider(provider).secret_values(secrets)):
        assert needle not in curl.text, needle


@pytest.mark.parametrize("provider", sorted(CALLS))
def test_the_command_run_with_the_secrets_gets_the_same_answer(demo_account, provider):
    _, call, secrets = _recorded(demo_account, provider)
    command = curl_for_call(call).text
    env = dict(os.environ)
    for field, placeholder in get_provider(provider).curl_placeholders().items():
        value = secrets[field]
        if provider == "croct":
            value = value.split(":", 1)[0]  # as the placeholder's note says: the UUID
        if provider == "commanders_act":
            value = quote_plus(value)  # it sits in the query string
        env[placeholder[1:]] = value

    done = subprocess.run(  # noqa: S603 - our own command against the loopback sandbox
        ["/usr/bin/bash", "-c", command + " -s -o /dev/null -w '%{http_code}'"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert done.stdout == str(call.status), (command, done.stderr)


def test_the_body_keeps_the_bytes_sent(demo_account):
    _, call, _ = _recorded(demo_account, "altcraft")
    text = curl_for_call(call).text
    # Altcraft deduplicates on identical bodies: the compact JSON the client sent.
    assert '"token":"' in text
    assert '"token": "' not in text


def test_a_marker_the_declaration_does_not_explain_gets_a_derived_name(db):
    call = ApiCall(
        provider="croct",
        method="POST",
        url="https://api.croct.io/external/web/content?token=[REDACTED]",
        request_headers={"X-Api-Key": "[REDACTED]", "X-Token": "Bearer [REDACTED]"},
        request_body='{"previewToken": "[REDACTED]", "slot": "home"}',
        request_bytes=40,
    )

    curl = curl_for_call(call)

    assert "token=$CROCT_TOKEN" in curl.text
    assert '"X-Token: Bearer $CROCT_X_TOKEN"' in curl.text
    assert '"X-Api-Key: $CROCT_API_KEY"' in curl.text
    assert '"previewToken":"\'"$CROCT_PREVIEWTOKEN"\'"' in curl.text
    assert "[REDACTED]" not in curl.text


def test_octy_authenticates_with_basic_from_both_placeholders(demo_account):
    _, call, _ = _recorded(demo_account, "octy")
    text = curl_for_call(call).text
    assert '-u "$OCTY_PUBLIC_KEY:$OCTY_SECRET_KEY"' in text
    assert "Authorization" not in text


@pytest.mark.parametrize("role", ["marketer", "support", "admin"])
def test_the_call_page_shows_the_command_and_a_copy_button(
    demo_account, client_for, role_users, role
):
    _, call, secrets = _recorded(demo_account, "octy")
    html = client_for(role_users[role]).get(reverse("calls:detail", args=[call.pk])).content
    page = html.decode()
    assert 'data-testid="copy-curl"' in page
    assert 'data-testid="curl-text"' in page
    assert "$OCTY_SECRET_KEY" in page
    assert "js/copy.js" in page  # loaded as a file: the CSP forbids inline script
    for needle in _encodings(get_provider("octy").secret_values(secrets)):
        assert needle not in page

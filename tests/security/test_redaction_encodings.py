"""A hostile provider echoing a secret back in any common encoding never gets it into
the call log or the logs (#15 item 10); secrets too short to redact are refused."""

from __future__ import annotations

import base64
import json
import logging
from urllib.parse import quote

import pytest
from werkzeug.wrappers import Request, Response

from dashboard.accounts.models import AccountCheck
from dashboard.accounts.services import account_check_run, account_connect
from dashboard.calls.models import ApiCall
from integrations.http import REDACTED, Redactor
from integrations.provider import SettingsError
from integrations.registry import get_provider
from tests.conftest import flush_call_log

SLASHED = "s3cr3t/Key+Value_2026"  # a "/" for \/-escaping, a "+" for percent-encoding


def _percent_all(text: str) -> str:
    return "".join(f"%{b:02x}" for b in text.encode())


def encodings(secret: str) -> dict[str, str]:
    raw = secret.encode()
    b64 = base64.b64encode(raw).decode()
    url_b64 = base64.urlsafe_b64encode(raw).decode()
    half = len(secret) // 2
    return {
        "upper": secret.upper(),
        "lower": secret.lower(),
        "base64": b64,
        "base64 unpadded": b64.rstrip("="),
        "urlsafe base64": url_b64,
        "urlsafe unpadded": url_b64.rstrip("="),
        "base64 inside Basic auth": base64.b64encode(b"user:" + raw).decode(),
        "base64 at offset 2": base64.b64encode(b"ab" + raw + b"!").decode(),
        "json escaped slash": json.dumps(secret).replace("/", "\\/"),
        "fully percent-encoded": _percent_all(secret),
        "fully percent-encoded upper hex": _percent_all(secret).upper(),
        "quote()": quote(secret, safe=""),
        "partly percent-encoded": secret[:half]
        + _percent_all(secret[half : half + 3])
        + secret[half + 3 :],
    }


def _leaks(text: str, secret: str) -> list[str]:
    return [name for name, value in encodings(secret).items() if value in text]


@pytest.mark.parametrize("name", sorted(encodings(SLASHED)))
def test_the_redactor_removes_every_encoding(name):
    echoed = encodings(SLASHED)[name]
    text = f"before {echoed} after"

    redacted = Redactor([SLASHED]).text(text)

    assert REDACTED in redacted
    assert not _leaks(redacted, SLASHED), redacted


def test_ordinary_text_is_left_alone():
    text = "The quick brown fox: 2026-12-01T10:00:00Z %20 \\/ ok"
    assert Redactor([SLASHED]).text(text) == text


# Well-formed for the provider's own checks, but a few characters long (Croct keys are
# UUIDs: never short). The last column is a long enough key, accepted.
SHORT_SECRETS = [
    ("octy", {"public_key": "pk_demo_public", "secret_key": "sk_ab"}, "secret_key"),
    ("altcraft", {"token": "ab1"}, "token"),
    ("commanders_act", {"source_key": "k/9"}, "source_key"),
]


@pytest.mark.parametrize(("provider", "secrets", "field"), SHORT_SECRETS)
def test_a_secret_under_the_provider_minimum_is_refused_at_connect(provider, secrets, field):
    cls = get_provider(provider)

    with pytest.raises(SettingsError) as refused:
        cls.clean_secrets(secrets)

    assert set(refused.value.errors) == {field}
    assert "too short" in refused.value.errors[field]
    long_enough = {k: v + "x" * 8 for k, v in secrets.items()}
    assert cls.clean_secrets(long_enough) == long_enough


def _serve(wsgi_app):
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def test_a_hostile_provider_echoing_the_key_leaves_no_trace(db, caplog):
    from integrations.octy.sandbox import DEMO_SECRETS

    secret = DEMO_SECRETS["secret_key"]
    public = DEMO_SECRETS["public_key"]
    echoes = {**encodings(secret), **{f"public {k}": v for k, v in encodings(public).items()}}

    @Request.application
    def echo(request):
        body = json.dumps({"error": {"message": " | ".join(echoes.values())}, "echo": echoes})
        headers = {f"X-Echo-{i}": v for i, v in enumerate(echoes.values()) if v.isascii()}
        return Response(body, status=400, headers=headers, content_type="application/json")

    server = _serve(echo)
    account = account_connect(
        provider="octy",
        name="Hostile",
        base_url=f"http://127.0.0.1:{server.server_port}",
        settings={},
        secrets=dict(DEMO_SECRETS),
    )
    caplog.set_level(logging.DEBUG)

    try:
        account_check_run(check_id=AccountCheck.objects.create(account=account).pk)
    finally:
        server.shutdown()

    flush_call_log()
    calls = list(ApiCall.objects.filter(account=account))
    assert calls
    for call in calls:
        stored = " ".join(str(getattr(call, f.attname)) for f in ApiCall._meta.concrete_fields)
        assert REDACTED in stored
        assert not _leaks(stored, secret), _leaks(stored, secret)
        assert not _leaks(stored, public), _leaks(stored, public)
    check = AccountCheck.objects.get(account=account)
    assert not _leaks(json.dumps(check.problem or {}), secret)
    assert not _leaks(caplog.text, secret)

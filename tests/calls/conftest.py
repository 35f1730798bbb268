"""Helpers for the error-group tests: failures recorded through the real recording
path (``calls_write``), with Problems parsed by each provider's own error mapper."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from requests.structures import CaseInsensitiveDict

from dashboard.accounts.models import ConnectedAccount
from dashboard.calls.models import ApiCall
from dashboard.calls.services import call_from_exchange, calls_write
from integrations import errors
from integrations.altcraft import problems as altcraft
from integrations.commanders_act import problems as commanders_act
from integrations.croct import problems as croct
from integrations.errors import Problem
from integrations.http import Exchange, ProviderResponse
from integrations.octy import problems as octy

NOW = timezone.now().replace(microsecond=0)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def response(status: int, body=b"", headers=None) -> ProviderResponse:
    if not isinstance(body, bytes):
        body = json.dumps(body).encode()
    return ProviderResponse(status=status, headers=CaseInsensitiveDict(headers or {}), body=body)


def croct_problem(status: int, type_path: str, detail: str = "", title: str = "") -> Problem:
    body = {
        "type": croct.TYPE_PREFIX + type_path,
        "title": title or "Croct says no",
        "status": status,
    }
    if detail:
        body["detail"] = detail
    return croct.problem_from_response(response(status, body))


def octy_problem(status: int, code, reason: str) -> Problem:
    body = {"request_meta": {}, "error": {"code": code, "reason": reason, "errors": []}}
    return octy.problem_from_response(response(status, body))


def altcraft_problem(code: int, text: str) -> Problem:
    try:
        altcraft.check(response(200, {"error": code, "error_text": text}))
    except errors.ProviderError as exc:
        return exc.problem
    raise AssertionError("altcraft accepted an error body")


def commanders_act_problem(status: int, body: bytes = b"") -> Problem:
    return commanders_act.problem_for(response(status, body))


def transport_problem(provider: str, kind: str, detail: str) -> Problem:
    return Problem.build(provider, kind, detail=detail)


def make_account(name: str = "Shop", provider: str = "croct") -> ConnectedAccount:
    return ConnectedAccount.objects.create(
        provider=provider, name=name, base_url="http://127.0.0.1:9", settings={}
    )


def record(
    problem: Problem | None,
    *,
    provider: str | None = None,
    operation: str = "content.fetch",
    account: ConnectedAccount | None = None,
    at=None,
    credential: str = "fp-one",
    subject: tuple[str, str] = ("", ""),
    correlation: str = "",
    duration_ms: float = 10.0,
    count: int = 1,
) -> list[ApiCall]:
    """``count`` calls recorded through ``calls_write`` (one batch), as the console does."""
    calls = []
    for i in range(count):
        exchange = Exchange(
            provider=provider or (problem.provider if problem else "croct"),
            operation=operation,
            method="POST",
            url="http://127.0.0.1:9/x",
            request_headers={},
            request_body="",
            started_at=(at or NOW) - timedelta(milliseconds=i),
            duration_ms=duration_ms,
            status=problem.status if problem else 200,
            problem=problem,
            context={
                "subject_type": subject[0],
                "subject_id": subject[1],
                "correlation_id": correlation,
            },
        )
        calls.append(
            call_from_exchange(
                exchange,
                account_id=account.pk if account else None,
                credential_fingerprint=credential,
            )
        )
    calls_write(calls)
    return calls

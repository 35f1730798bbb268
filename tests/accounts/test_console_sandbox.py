"""The emulators mounted in the console under /sandbox/<provider>/ answer over real HTTP
exactly like the ones on their own ports: an account pointed at them verifies."""

from __future__ import annotations

import importlib

import pytest

from dashboard.accounts.models import AccountCheck
from dashboard.accounts.services import account_check_run, account_connect
from dashboard.calls.models import ApiCall
from integrations.registry import get_provider
from tests.conftest import flush_call_log


@pytest.mark.parametrize("provider", ["croct", "octy"])
def test_an_account_on_the_console_s_own_sandbox_verifies_over_http(
    live_server, transactional_db, provider
):
    demo = importlib.import_module(get_provider(provider).sandbox_module)
    base_url = f"{live_server.url}/sandbox/{provider}"
    account = account_connect(
        provider=provider,
        name=f"In-console {provider}",
        base_url=base_url,
        settings=dict(demo.DEMO_SETTINGS),
        secrets=dict(demo.DEMO_SECRETS),
    )

    check = account_check_run(check_id=AccountCheck.objects.create(account=account).pk)

    assert check.status == "ok", check.problem
    account.refresh_from_db()
    assert account.health == "healthy"
    flush_call_log()
    call = ApiCall.objects.get()
    assert call.status == 200
    assert call.url.startswith(base_url + "/")


def test_the_console_s_sandbox_rejects_a_rejected_key_like_the_real_api(
    live_server, transactional_db
):
    demo = importlib.import_module(get_provider("croct").sandbox_module)
    account = account_connect(
        provider="croct",
        name="In-console rejected",
        base_url=f"{live_server.url}/sandbox/croct",
        settings=dict(demo.DEMO_SETTINGS),
        secrets={"api_key": "0000dead-0000-4000-8000-000000000000"},
    )

    check = account_check_run(check_id=AccountCheck.objects.create(account=account).pk)

    assert check.status == "failed"
    assert check.problem["kind"] == "auth"
    assert check.problem["status"] == 401


def test_an_unknown_sandbox_is_not_found(client, db):
    response = client.get("/sandbox/myspace/anything")

    assert response.status_code == 404

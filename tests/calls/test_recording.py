"""Every exchange a provider client makes is recorded as an ApiCall."""

from __future__ import annotations

import pytest

from dashboard.accounts.models import Credential
from dashboard.accounts.services import account_connect, provider_client
from dashboard.calls.context import call_context
from dashboard.calls.models import ApiCall
from integrations.croct.sandbox import DEMO_SECRETS as CROCT_SECRETS
from integrations.croct.sandbox import DEMO_SETTINGS as CROCT_SETTINGS
from integrations.errors import ProviderError
from integrations.sandbox import Fault
from tests.conftest import flush_call_log

CALLS = {
    # provider: (make one call with the client, operation, method, path)
    "croct": (
        lambda c: c.evaluate("true", client_id="6a1b3c5d-0000-4000-8000-000000000001"),
        "croct.evaluate",
        "POST",
        "/external/web/evaluate",
    ),
    "octy": (lambda c: c.event_types("0"), "octy.event_types.list", "GET", "/events/types"),
    "altcraft": (
        lambda c: c.list_profiles(limit=1),
        "altcraft.profiles.list",
        "POST",
        "/api/v1.1/profiles/list",
    ),
    "commanders_act": (
        lambda c: c.send_event({"event_name": "page_view", "user": {}, "context": {}}),
        "commanders_act.event",
        "POST",
        "/events",
    ),
}


@pytest.mark.parametrize("provider", sorted(CALLS))
def test_a_successful_call_is_recorded_with_its_operation_status_timing_and_credential(
    demo_account, sandbox, provider
):
    account = demo_account(provider)
    credential = Credential.objects.get(account=account)
    make_call, operation, method, path = CALLS[provider]

    make_call(provider_client(account))

    flush_call_log()
    call = ApiCall.objects.get()
    assert call.account == account
    assert call.provider == provider
    assert call.operation == operation
    assert call.method == method
    assert call.url.startswith(sandbox[provider].url)
    assert path in call.url
    assert call.status == 200
    assert call.outcome == "ok"
    assert call.duration_ms > 0
    assert call.credential_fingerprint == credential.fingerprint
    assert call.problem is None
    assert call.problem_kind == ""
    assert call.response_headers  # the answer's headers are kept
    assert call.task_id == ""  # made in-process, not by a worker


@pytest.mark.parametrize(
    ("provider", "fault", "status", "kind"),
    [
        ("octy", Fault(kind="status", status=503), 503, "unavailable"),
        ("croct", Fault(kind="status", status=503), 503, "unavailable"),
        ("altcraft", Fault(kind="rate_limit", retry_after=7), 429, "rate_limited"),
        ("croct", Fault(kind="rate_limit", retry_after=7), 429, "rate_limited"),
    ],
)
def test_a_failed_call_is_recorded_with_its_problem(
    demo_account, sandbox, provider, fault, status, kind
):
    account = demo_account(provider)
    sandbox[provider].app.faults.add(fault)
    make_call, operation, _, _ = CALLS[provider]

    with pytest.raises(ProviderError):
        make_call(provider_client(account))

    flush_call_log()
    call = ApiCall.objects.get()
    assert call.operation == operation
    assert call.status == status
    assert call.outcome == "failed"
    assert call.problem_kind == kind
    assert call.problem_retryable is True
    assert call.problem_title
    assert call.problem["kind"] == kind
    assert call.credential_fingerprint == Credential.objects.get().fingerprint


def test_a_rejected_key_is_recorded_as_a_permanent_auth_failure(demo_account):
    account = demo_account("croct", secrets={"api_key": "0000dead-0000-4000-8000-000000000000"})

    with pytest.raises(ProviderError):
        CALLS["croct"][0](provider_client(account))

    flush_call_log()
    call = ApiCall.objects.get()
    assert call.status == 401
    assert call.outcome == "failed"
    assert call.problem_kind == "auth"
    assert call.problem_retryable is False


def test_a_transport_failure_is_recorded_without_a_status(db):
    account = account_connect(
        provider="croct",
        name="Nobody listens",
        base_url="http://127.0.0.1:9",
        settings=dict(CROCT_SETTINGS),
        secrets=dict(CROCT_SECRETS),
    )

    with pytest.raises(ProviderError) as excinfo:
        CALLS["croct"][0](provider_client(account))

    assert excinfo.value.problem.kind == "transport"
    flush_call_log()
    call = ApiCall.objects.get()
    assert call.account == account
    assert call.status is None
    assert call.outcome == "failed"
    assert call.problem_kind == "transport"
    assert call.problem_retryable is True
    assert call.url == "http://127.0.0.1:9/external/web/evaluate"


def test_calls_inside_a_call_context_carry_its_correlation_id(demo_account):
    croct = provider_client(demo_account("croct"))
    octy = provider_client(demo_account("octy"))

    with call_context(correlation_id="abc", subject_type="preview", subject_id=42):
        CALLS["croct"][0](croct)
        CALLS["octy"][0](octy)
    CALLS["croct"][0](croct)

    flush_call_log()
    inside = ApiCall.objects.filter(correlation_id="abc")
    assert sorted(inside.values_list("operation", flat=True)) == [
        "croct.evaluate",
        "octy.event_types.list",
    ]
    assert set(inside.values_list("subject_type", "subject_id")) == {("preview", "42")}
    outside = ApiCall.objects.exclude(correlation_id="abc").get()
    assert outside.subject_type == ""


def test_a_nested_call_context_keeps_the_outer_correlation_id(demo_account):
    client = provider_client(demo_account("croct"))

    with call_context(correlation_id="outer"), call_context(subject_type="check", subject_id=1):
        CALLS["croct"][0](client)

    flush_call_log()
    call = ApiCall.objects.get()
    assert call.correlation_id == "outer"
    assert call.subject_type == "check"


def test_a_client_built_for_a_specific_credential_records_that_credential(demo_account):
    from dashboard.accounts.services import credential_build

    account = demo_account("croct")
    pending = credential_build(
        account=account,
        secrets={"api_key": "1d2c3b4a-0000-4000-8000-00000000beef"},
        state="pending",
    )
    pending.save()

    CALLS["croct"][0](provider_client(account, credential=pending))

    flush_call_log()
    assert ApiCall.objects.get().credential_fingerprint == pending.fingerprint
    assert pending.fingerprint != Credential.objects.get(state="active").fingerprint

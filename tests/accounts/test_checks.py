"""Checking an account: the provider's verify call, in-process and from the page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dashboard.accounts.models import AccountCheck, ConnectedAccount, Credential
from dashboard.accounts.services import account_check_request, account_check_run
from dashboard.calls.models import ApiCall
from integrations.registry import get_provider
from integrations.sandbox import Fault
from tests.conftest import flush_call_log

VERIFY_OPERATIONS = {
    "croct": "croct.evaluate",
    "octy": "octy.event_types.list",
    "altcraft": "altcraft.profiles.list",
}
REJECTED_SECRETS = {
    "croct": {"api_key": "0000dead-0000-4000-8000-000000000000"},
    "octy": {"public_key": "pk_0000dead", "secret_key": "sk_0000dead"},
    "altcraft": {"token": "token_0000dead_0000dead"},
}


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def run_check(account: ConnectedAccount) -> AccountCheck:
    check = AccountCheck.objects.create(account=account)
    return account_check_run(check_id=check.pk)


@pytest.mark.parametrize("provider", sorted(VERIFY_OPERATIONS))
def test_a_check_against_the_sandbox_passes_and_marks_the_account_healthy(demo_account, provider):
    account = demo_account(provider)
    credential = Credential.objects.get(account=account)

    check = run_check(account)

    assert check.status == "ok"
    assert check.problem is None
    assert check.summary
    assert check.latency_ms > 0
    assert check.finished_at is not None
    assert check.credential == credential
    account.refresh_from_db()
    assert account.health == "healthy"
    assert account.last_checked_at == check.finished_at
    credential.refresh_from_db()
    assert credential.verified_at is not None
    flush_call_log()
    call = ApiCall.objects.get()
    assert call.operation == VERIFY_OPERATIONS[provider]
    assert call.outcome == "ok"
    assert call.credential_fingerprint == credential.fingerprint
    assert call.subject_type == "account_check"
    assert call.subject_id == str(check.pk)


@pytest.mark.parametrize("provider", sorted(REJECTED_SECRETS))
def test_a_rejected_credential_fails_the_check_and_marks_the_account_failing(
    demo_account, provider
):
    account = demo_account(provider, secrets=REJECTED_SECRETS[provider])

    check = run_check(account)

    assert check.status == "failed"
    assert check.problem["kind"] == "auth"
    assert check.problem["title"]
    account.refresh_from_db()
    assert account.health == "failing"
    assert Credential.objects.get(account=account).verified_at is None
    flush_call_log()
    assert ApiCall.objects.get().outcome == "failed"


def test_an_unavailable_provider_fails_the_check_as_retryable(demo_account, sandbox):
    account = demo_account("octy")
    sandbox["octy"].app.faults.add(Fault(kind="status", status=503))

    check = run_check(account)

    assert check.status == "failed"
    assert check.problem["kind"] == "unavailable"
    assert check.problem["retryable"] is True
    account.refresh_from_db()
    assert account.health == "failing"


def test_a_commanders_act_check_reports_that_it_cannot_verify_without_calling(demo_account):
    account = demo_account("commanders_act")
    assert account.health == "unverifiable"

    check = run_check(account)

    assert check.status == "unsupported"
    assert check.summary["reason"] == get_provider("commanders_act").verify_unsupported_reason
    account.refresh_from_db()
    assert account.health == "unverifiable"
    assert ApiCall.objects.count() == 0


def test_an_account_without_an_active_credential_fails_its_check(demo_account):
    account = demo_account("croct")
    Credential.objects.filter(account=account).update(state="revoked")

    check = run_check(account)

    assert check.status == "failed"
    assert check.problem["title"] == "No active credential"
    assert ApiCall.objects.count() == 0


def test_running_a_finished_check_again_calls_nothing(demo_account):
    account = demo_account("croct")
    check = run_check(account)

    again = account_check_run(check_id=check.pk)

    assert again.status == "ok"
    assert again.finished_at == check.finished_at
    flush_call_log()
    assert ApiCall.objects.count() == 1


def test_a_check_that_keeps_dying_is_given_up_at_the_attempt_cap(demo_account, monkeypatch):
    from dashboard.accounts import services

    account = demo_account("croct")

    def dies(cls, client):  # a bug or a killed worker, not a provider answer
        raise RuntimeError("boom")

    monkeypatch.setattr(account.provider_class, "verify", classmethod(dies))
    check = AccountCheck.objects.create(account=account)
    for attempt in range(services.MAX_CHECK_ATTEMPTS):
        # Each redelivery of the message resumes the check its earlier attempt began.
        with pytest.raises(RuntimeError):
            account_check_run(check_id=check.pk, resume=attempt > 0)

    given_up = account_check_run(check_id=check.pk, resume=True)

    assert given_up.attempts == services.MAX_CHECK_ATTEMPTS
    assert given_up.status == "failed"
    assert given_up.problem["title"] == "Gave up"
    assert ApiCall.objects.count() == 0


def test_a_check_of_a_pending_credential_does_not_change_the_account_health(demo_account):
    from dashboard.accounts.services import credential_build

    account = demo_account("croct")
    pending = credential_build(account=account, secrets=REJECTED_SECRETS["croct"], state="pending")
    pending.save()

    check = account_check_run(
        check_id=account_check_request(account=account, credential=pending).pk
    )

    assert check.status == "failed"
    assert check.credential == pending
    account.refresh_from_db()
    assert account.health == "unknown"


# --- the check fragment -------------------------------------------------------------------
@pytest.fixture
def admin_client(client_for, admin):
    return client_for(admin)


def test_the_test_button_answers_htmx_with_a_polling_fragment(admin_client, demo_account):
    account = demo_account("croct")

    response = admin_client.post(
        reverse("accounts:test", args=[account.pk]), HTTP_HX_REQUEST="true"
    )

    check = AccountCheck.objects.get(account=account)
    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page
    assert 'data-testid="check" data-status="pending"' in page
    assert f'hx-get="{reverse("accounts:check", args=[account.pk, check.pk])}"' in page
    assert check.requested_by is not None


def test_the_test_button_without_htmx_redirects_back_to_the_account(admin_client, demo_account):
    account = demo_account("croct")

    response = admin_client.post(reverse("accounts:test", args=[account.pk]))

    assert response.status_code == 302
    assert response.url == reverse("accounts:detail", args=[account.pk])
    assert AccountCheck.objects.filter(account=account).count() == 1


def test_a_finished_check_stops_htmx_polling(admin_client, demo_account):
    account = demo_account("croct")
    check = run_check(account)
    url = reverse("accounts:check", args=[account.pk, check.pk])

    response = admin_client.get(url, HTTP_HX_REQUEST="true")

    page = response.content.decode()
    assert response.status_code == 286
    assert 'data-status="ok"' in page
    assert "Passed" in page
    assert "hx-get" not in page
    # Without htmx (a plain reload) the same fragment is an ordinary 200.
    assert admin_client.get(url).status_code == 200


def test_a_pending_check_keeps_polling(admin_client, demo_account):
    account = demo_account("croct")
    check = AccountCheck.objects.create(account=account)

    response = admin_client.get(
        reverse("accounts:check", args=[account.pk, check.pk]), HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    assert "hx-get" in response.content.decode()


def test_a_check_is_only_found_under_its_own_account(admin_client, demo_account):
    croct = demo_account("croct")
    octy = demo_account("octy")
    check = AccountCheck.objects.create(account=croct)

    response = admin_client.get(reverse("accounts:check", args=[octy.pk, check.pk]))

    assert response.status_code == 404


def test_a_failed_check_shows_the_problem_on_the_account_page(admin_client, demo_account):
    account = demo_account("croct", secrets=REJECTED_SECRETS["croct"])
    check = run_check(account)

    page = admin_client.get(reverse("accounts:detail", args=[account.pk])).content.decode()

    assert 'data-status="failed"' in page
    assert check.problem["title"] in page
    assert '<span class="badge">HTTP 401</span>' in page  # as in every problem box
    assert "Failing" in page


def test_a_check_problem_with_a_script_docs_link_is_not_linked(admin_client, demo_account):
    account = demo_account("croct")
    check = AccountCheck.objects.create(
        account=account,
        status="failed",
        problem={"title": "Odd", "docs_url": "javascript:alert(document.cookie)"},
    )

    page = admin_client.get(reverse("accounts:check", args=[account.pk, check.pk]))

    assert "Odd" in page.content.decode()
    assert "javascript:" not in page.content.decode()


def test_a_commanders_act_account_shows_the_cannot_verify_notice_and_no_test_button(
    admin_client, demo_account
):
    account = demo_account("commanders_act")
    croct = demo_account("croct")

    page = admin_client.get(reverse("accounts:detail", args=[account.pk])).content.decode()

    assert get_provider("commanders_act").verify_unsupported_reason in page.replace("&#x27;", "'")
    assert 'data-testid="test-account"' not in page
    assert "Cannot be verified" in page
    # The button does exist for a provider that can be verified.
    croct_page = admin_client.get(reverse("accounts:detail", args=[croct.pk])).content.decode()
    assert 'data-testid="test-account"' in croct_page

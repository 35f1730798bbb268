"""A problem's title, HTTP status and provider code are each said once, on every page
that shows one (#16 defect 9: "Altcraft error 429 HTTP 429 429")."""

from __future__ import annotations

import html
import re

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from dashboard.accounts.models import AccountCheck
from dashboard.accounts.services import account_check_run
from dashboard.calls.models import ApiCall, ErrorGroup
from integrations import errors
from integrations.sandbox import Fault
from tests.conftest import flush_call_log

# What pages stored before the fix (a title made of the provider and the number):
# stored problems outlive a release, so they must read right too.
LEGACY_ALTCRAFT_429 = {
    "provider": "altcraft",
    "kind": "rate_limited",
    "title": "Altcraft error 429",
    "status": 429,
    "provider_code": "429",
    "detail": "Too many requests",
    "retryable": True,
}


def _text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _said_once(text: str) -> None:
    assert "Altcraft error" not in text, text
    assert len(re.findall(r"\b429\b", text)) == 1, text


def test_a_code_that_repeats_the_status_is_dropped():
    h = errors.heading(title="Rate limited", kind="rate_limited", status=429, code="429")
    assert (h.title, h.status, h.code) == ("Rate limited", 429, "")


def test_a_title_that_only_names_the_number_reads_as_the_kind():
    h = errors.heading(title="Altcraft error 429", kind="rate_limited", status=429, code="429")
    assert h.title == "Rate limited"


def test_a_code_with_its_own_meaning_keeps_both():
    h = errors.heading(
        title="Request validation error", kind="invalid_request", status=200, code="450"
    )
    assert (h.title, h.status, h.code) == ("Request validation error", 200, "450")


def test_an_empty_title_reads_as_the_kind():
    assert errors.heading(title="", kind="timeout", status=None, code="").title == "Timed out"


def test_the_shared_problem_box_says_a_stored_legacy_problem_once():
    box = _text(render_to_string("core/_problem.html", {"problem": LEGACY_ALTCRAFT_429}))
    _said_once(box)
    assert box.startswith("Rate limited HTTP 429 Too many requests")


@pytest.fixture
def rate_limited_altcraft(demo_account, sandbox):
    """An Altcraft account whose check the sandbox answered with its 429 (body code
    429), recorded in the call log and folded into an error group."""
    account = demo_account("altcraft", name="Altcraft CRM")
    sandbox["altcraft"].app.faults.add(Fault(kind="rate_limit", retry_after=7, count=1))
    check = account_check_run(check_id=AccountCheck.objects.create(account=account).pk)
    flush_call_log()
    return account, check


def test_a_new_altcraft_429_is_titled_by_its_kind(rate_limited_altcraft):
    _, check = rate_limited_altcraft
    assert check.problem["title"] == "Rate limited"
    assert check.problem["provider_code"] == "429"


def test_every_page_says_the_altcraft_429_once(admin_client, rate_limited_altcraft):
    account, _ = rate_limited_altcraft
    call = ApiCall.objects.get(outcome="failed")
    group = ErrorGroup.objects.get()

    account_page = admin_client.get(reverse("accounts:detail", args=[account.pk])).content
    check = account_page.decode().split('data-testid="check"', 1)[1].split("</div>", 1)[0]
    _said_once(_text(check))

    errors_page = admin_client.get(reverse("calls:errors")).content.decode()
    row = errors_page.split('class="group-title"', 1)[1].split("</td>", 1)[0]
    _said_once(_text(row))

    group_page = admin_client.get(reverse("calls:group", args=[group.pk])).content.decode()
    head = group_page.split('class="pagehead"', 1)[1].split("grouped by", 1)[0]
    _said_once(_text(head))
    assert "Provider code" not in group_page

    call_page = admin_client.get(reverse("calls:detail", args=[call.pk])).content.decode()
    box = call_page.split('data-testid="problem"', 1)[1].split("</section>", 1)[0]
    assert "429" not in _text(box)  # the header above says HTTP 429
    assert "Rate limited" in _text(box)


def test_an_event_attempt_says_a_legacy_problem_once():
    attempt = _text(
        render_to_string("core/_problem_heading.html", {"problem": LEGACY_ALTCRAFT_429})
    )
    assert attempt == "Rate limited HTTP 429"


def test_the_call_log_titles_a_legacy_row_by_its_kind(admin_client, rate_limited_altcraft):
    # A row recorded before the fix keeps its stored title; the list reads it right.
    ApiCall.objects.filter(outcome="failed").update(problem_title="Altcraft error 429")
    page = admin_client.get(reverse("calls:list"), {"outcome": "failed"}).content.decode()
    row = page.split('data-testid="calls"', 1)[1].split("</tbody>", 1)[0]
    assert "Altcraft error" not in row
    assert "Rate limited" in _text(row)

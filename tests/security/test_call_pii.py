"""Customer data in the call log follows the profiles rules (#15 item 3): a PII-by-role
crawl of every call page. A marketer (no ``see_contact_details``) sees no email or
phone anywhere; support sees them, and opening such a call is in the access log."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard.calls.models import ApiCall, ErrorGroup
from dashboard.calls.services import calls_write
from dashboard.profiles.models import ProfileAccess

EMAILS = ("ada.lovelace@example.com", "grace@navy.example.org", "linus@example.net")
PHONES = ("+33612345678", "+1 415 555 0199")


def _call(account, **fields) -> ApiCall:
    base = {
        "account": account,
        "provider": account.provider,
        "operation": f"{account.provider}.op",
        "method": "GET",
        "url": "https://api.example/v1/x",
        "request_headers": {"Accept": "application/json"},
        "response_headers": {"Content-Type": "application/json"},
        "started_at": timezone.now(),
        "duration_ms": 3.0,
        "outcome": "ok",
        "status": 200,
    }
    return ApiCall(**{**base, **fields})


@pytest.fixture
def pii_calls(world):
    octy_page = {
        "profiles": [
            {
                "profile_id": "p1",
                "profile_data": {"name": "Ada", "email": EMAILS[0], "phone": PHONES[0]},
            },
            {"profile_id": "p2", "profile_data": {"contact": EMAILS[1]}},
        ]
    }
    croct_export = "\n".join(
        json.dumps({"userId": f"u{i}", "email": e}) for i, e in enumerate(EMAILS)
    )
    altcraft_xml = (
        f"<response><data><email>{EMAILS[2]}</email><phones>{PHONES[1]}</phones></data></response>"
    )
    calls = calls_write(
        [
            _call(world.octy, response_body=json.dumps(octy_page)),
            _call(
                world.octy,
                url=f"https://api.octy.example/v1/profiles?email={EMAILS[0]}",
                request_body=json.dumps({"customer": {"phone": PHONES[0]}}),
            ),
            _call(world.croct, response_body=croct_export),
            _call(world.ca, response_body=altcraft_xml, response_headers={}),
            _call(
                world.octy,
                outcome="failed",
                status=404,
                problem_kind="not_found",
                problem_title="Not found",
                problem_detail=f"No profile for {EMAILS[1]}",
                problem={"kind": "not_found", "title": "Not found", "detail": EMAILS[1]},
                subject_type="lookup",
                subject_id=EMAILS[1],
            ),
        ]
    )
    return calls


def _call_pages(calls) -> list[str]:
    urls = [reverse("calls:list"), reverse("calls:errors")]
    urls += [reverse("calls:detail", kwargs={"pk": c.pk}) for c in calls]
    for group in ErrorGroup.objects.all():
        urls += [
            reverse("calls:group", kwargs={"pk": group.pk}),
            reverse("calls:list") + f"?group={group.pk}",
        ]
    return urls


def test_a_marketer_sees_no_email_or_phone_on_any_call_page(client_for, marketer, pii_calls):
    client = client_for(marketer)
    pages = _call_pages(pii_calls)
    assert any("/calls/" in p and "group" not in p for p in pages)
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        for secret in (*EMAILS, *PHONES, "415 555 0199"):
            assert secret not in html, f"{secret} on {url}"


def test_support_sees_contact_details_and_is_access_logged(client_for, support, pii_calls):
    client = client_for(support)
    first = pii_calls[0]

    html = client.get(reverse("calls:detail", kwargs={"pk": first.pk})).content.decode()

    assert EMAILS[0] in html
    assert PHONES[0] in html
    entry = ProfileAccess.objects.get(user=support)
    assert entry.action == "view"
    assert str(first.pk) in entry.subject
    assert entry.account == first.account


def test_a_marketer_s_view_of_customer_data_is_access_logged_too(client_for, marketer, pii_calls):
    client = client_for(marketer)
    failed = pii_calls[-1]

    client.get(reverse("calls:detail", kwargs={"pk": failed.pk}))

    assert ProfileAccess.objects.filter(user=marketer, subject__contains=str(failed.pk)).exists()


def test_a_call_without_customer_data_is_not_access_logged(client_for, support, world):
    (call,) = calls_write([_call(world.croct, response_body='{"content": {"title": "Hi"}}')])

    client_for(support).get(reverse("calls:detail", kwargs={"pk": call.pk}))

    assert not ProfileAccess.objects.filter(user=support).exists()

"""The Delivery pace page (#17): everyone sees how fast each account's events go out;
admins give an account its own pace, or put it back to the default, from the page."""

from __future__ import annotations

import html
import re

import pytest
from auditlog.models import LogEntry
from django.urls import reverse

from dashboard.events import pacing

HTMX = {"HTTP_HX_REQUEST": "true"}


def _row(page: str, account) -> str:
    return html.unescape(page.split(f'id="pace-{account.pk}"', 1)[1].split("</section>", 1)[0])


def _post(client, account, *, action: str = "save", **fields):
    data = {f"pace-{account.pk}-{name}": value for name, value in fields.items()}
    return client.post(
        reverse("events:pace_edit", args=[account.pk]), {**data, "action": action}, **HTMX
    )


def test_everyone_reads_each_accounts_pace_and_only_admins_change_it(
    client_for, marketer, ca_account, octy_account
):
    client = client_for(marketer)
    page = client.get(reverse("events:pace")).content.decode()

    assert "450 requests/s" in _row(page, ca_account)
    assert "100 requests/min" in _row(page, octy_account)  # Octy documents a per-minute limit
    assert "the provider's default" in _row(page, ca_account)
    assert "<form" not in page.split('data-testid="pace-list"', 1)[1]
    answer = client.post(reverse("events:pace_edit", args=[ca_account.pk]), {"action": "reset"})
    assert answer.status_code == 403


def test_an_admin_sets_an_accounts_pace_and_delivery_uses_it(client_for, admin, ca_account):
    client = client_for(admin)
    answer = _post(client, ca_account, rate="5", per="second", concurrency="3")

    row = html.unescape(answer.content.decode())
    assert answer.status_code == 200
    assert f'id="pace-{ca_account.pk}"' in row
    assert "now sends 5 requests/s, at most 3 in flight" in row
    assert 'data-testid="pace-rate">5 requests/s<' in row
    assert "this account (default: 450 requests/s, 8 in flight)" in row
    assert pacing.pace_for(ca_account) == pacing.Pace(rate=5.0, concurrency=3)
    entry = LogEntry.objects.filter(additional_data__account_id=ca_account.pk).latest("id")
    assert entry.additional_data["action"] == "pace_set"
    assert entry.actor == admin

    _post(client, ca_account, rate="30", per="minute", concurrency="")
    assert pacing.pace_for(ca_account).rate == pytest.approx(0.5)
    page = client.get(reverse("events:pace")).content.decode()
    assert 'data-testid="pace-rate">30 requests/min<' in _row(page, ca_account)
    # The form shows the pace as it was typed: 30 per minute, not 0.5 per second.
    assert re.search(r'name="pace-\d+-rate" value="30(\.0)?"', _row(page, ca_account))


def test_an_admin_puts_an_account_back_to_the_default(client_for, admin, ca_account):
    pacing.pace_set(account=ca_account, requests_per_second=5, concurrency=2)
    client = client_for(admin)

    answer = _post(client, ca_account, action="reset")

    assert "back to its provider's default pace: 450 requests/s" in html.unescape(
        answer.content.decode()
    )
    assert pacing.pace_for(ca_account) == pacing.Pace(rate=450.0, concurrency=8)
    entry = LogEntry.objects.filter(additional_data__account_id=ca_account.pk).latest("id")
    assert entry.additional_data["action"] == "pace_reset"
    audit = html.unescape(client.get(reverse("audit:list")).content.decode())
    assert "Put an account's delivery pace back to the default" in audit


@pytest.mark.parametrize(
    ("rate", "concurrency"),
    [
        ("nan", "2"),
        ("inf", "2"),
        ("1e309", "2"),
        ("-1", "2"),
        ("5\x00", "2"),
        ("9" * 5000, "2"),
        ("5", "999"),
        ("5", "0"),
        ("5", "3\x00"),
        ("1,5", "2"),
    ],
)
def test_refused_input_comes_back_as_typed_with_the_reason(
    client_for, admin, ca_account, rate, concurrency
):
    client = client_for(admin)

    answer = _post(client, ca_account, rate=rate, per="second", concurrency=concurrency)

    row = html.unescape(answer.content.decode())
    assert answer.status_code == 200  # htmx swaps only 2xx: the row comes back to say why
    assert "pace was not changed: correct the fields marked below" in row
    assert 'class="errorlist"' in row
    assert pacing.pace_for(ca_account) == pacing.Pace(rate=450.0, concurrency=8)
    assert not LogEntry.objects.filter(additional_data__action="pace_set").exists()


def test_without_htmx_a_refusal_is_the_whole_page_with_what_was_typed(
    client_for, admin, ca_account
):
    client = client_for(admin)
    answer = client.post(
        reverse("events:pace_edit", args=[ca_account.pk]),
        {
            f"pace-{ca_account.pk}-rate": "fast",
            f"pace-{ca_account.pk}-per": "second",
            "action": "save",
        },
    )
    page = html.unescape(answer.content.decode())
    assert answer.status_code == 422
    assert "<h1>Delivery pace</h1>" in page
    assert 'value="fast"' in _row(page, ca_account)

    saved = client.post(
        reverse("events:pace_edit", args=[ca_account.pk]),
        {
            f"pace-{ca_account.pk}-rate": "7",
            f"pace-{ca_account.pk}-per": "second",
            "action": "save",
        },
        follow=True,
    )
    assert "now sends 7 requests/s" in saved.content.decode()


def test_an_account_without_a_documented_limit_is_unpaced_until_given_one(
    client_for, admin, croct_account
):
    client = client_for(admin)
    page = client.get(reverse("events:pace")).content.decode()
    assert 'data-testid="pace-rate">unpaced<' in _row(page, croct_account)
    _post(client, croct_account, rate="20", per="second")
    assert pacing.pace_for(croct_account).rate == 20.0

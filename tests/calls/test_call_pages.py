"""The call log pages: filters, keyset pagination, the errors page and call details."""

from __future__ import annotations

import base64
import html
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard.accounts.models import ConnectedAccount
from dashboard.accounts.services import provider_client
from dashboard.calls.models import ApiCall
from dashboard.calls.selectors import PAGE_SIZE, encode_cursor
from integrations.errors import ProviderError
from integrations.sandbox import Fault
from tests.conftest import flush_call_log

NOW = timezone.now().replace(microsecond=0)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def reader(client_for, support):
    """Any role may read the call log; support is neither the most nor least privileged."""
    return client_for(support)


def make_account(name: str, provider: str) -> ConnectedAccount:
    return ConnectedAccount.objects.create(
        provider=provider, name=name, base_url="http://127.0.0.1:9", settings={}
    )


def make_calls(count: int, *, offset: int = 0, same_time: bool = False, **fields) -> list[int]:
    """``count`` calls, one second apart going back from ``offset`` seconds ago."""
    fields.setdefault("provider", fields["account"].provider if fields.get("account") else "croct")
    fields.setdefault("operation", f"{fields['provider']}.op")
    fields.setdefault("outcome", "ok")
    rows = [
        ApiCall(
            method="POST",
            url="http://127.0.0.1:9/x",
            started_at=NOW - timedelta(seconds=0 if same_time else offset + i),
            duration_ms=12.5,
            status=200 if fields["outcome"] == "ok" else 503,
            **fields,
        )
        for i in range(count)
    ]
    ApiCall.objects.bulk_create(rows)  # SQLite and PostgreSQL both return the new pks
    return [row.pk for row in rows]


def listed_ids(response) -> list[int]:
    """Call ids in the order the page lists them (from the rendered links)."""
    table = response.content.decode().split('data-testid="calls"', 1)
    if len(table) == 1:
        return []
    return [int(pk) for pk in re.findall(r'<td><a href="/calls/(\d+)/">', table[1])]


def older_link(response) -> str | None:
    match = re.search(r'<a class="button" href="([^"]*)">Older', response.content.decode())
    return html.unescape(match.group(1)) if match else None


def all_pages(reader, url: str) -> list[list[int]]:
    pages = []
    response = reader.get(url)
    for _ in range(20):  # far more pages than any test creates: a looping cursor fails
        assert response.status_code == 200
        pages.append(listed_ids(response))
        link = older_link(response)
        if link is None:
            return pages
        assert link.startswith("?")
        response = reader.get(url.split("?")[0] + link)
    raise AssertionError("the Older links never end")


# --- filters ------------------------------------------------------------------------------
@pytest.fixture
def mixed_calls(db):
    shop = make_account("Shop", "croct")
    crm = make_account("CRM", "octy")
    ids = {
        "shop_ok": make_calls(3, account=shop),
        "shop_failed": make_calls(
            2, offset=10, account=shop, outcome="failed", problem_kind="unavailable"
        ),
        "crm_ok": make_calls(2, offset=20, account=crm),
        "crm_limited": make_calls(
            1, offset=30, account=crm, outcome="failed", problem_kind="rate_limited"
        ),
        "crm_suspended": make_calls(
            1, offset=40, account=crm, outcome="suspended", problem_kind="suspended"
        ),
    }
    return {"shop": shop, "crm": crm, "ids": ids}


def ids_of(mixed, *groups) -> set[int]:
    return {pk for group in groups for pk in mixed["ids"][group]}


@pytest.mark.parametrize(
    ("params", "groups"),
    [
        ({}, ("shop_ok", "shop_failed", "crm_ok", "crm_limited", "crm_suspended")),
        ({"account": "shop"}, ("shop_ok", "shop_failed")),
        ({"provider": "octy"}, ("crm_ok", "crm_limited", "crm_suspended")),
        ({"outcome": "failed"}, ("shop_failed", "crm_limited")),
        ({"outcome": "suspended"}, ("crm_suspended",)),
        ({"kind": "rate_limited"}, ("crm_limited",)),
        ({"account": "crm", "outcome": "ok"}, ("crm_ok",)),
        ({"account": "shop", "kind": "rate_limited"}, ()),
    ],
)
def test_the_call_list_shows_only_calls_matching_its_filters(reader, mixed_calls, params, groups):
    if "account" in params:
        params = {**params, "account": mixed_calls[params["account"]].pk}

    response = reader.get(reverse("calls:list"), params)

    assert response.status_code == 200
    assert set(listed_ids(response)) == ids_of(mixed_calls, *groups)
    if not groups:
        assert "No calls match." in response.content.decode()


def test_the_list_is_newest_first_and_shows_the_account_name(reader, mixed_calls):
    response = reader.get(reverse("calls:list"))

    ids = listed_ids(response)
    started = {c.pk: c.started_at for c in ApiCall.objects.all()}
    assert [started[pk] for pk in ids] == sorted(started.values(), reverse=True)
    assert "<td>Shop</td>" in response.content.decode()


def test_unknown_filter_values_are_ignored(reader, mixed_calls):
    response = reader.get(
        reverse("calls:list"), {"provider": "myspace", "outcome": "meh", "kind": "nope"}
    )

    assert response.status_code == 200
    assert set(listed_ids(response)) == ids_of(mixed_calls, *mixed_calls["ids"])


@pytest.mark.parametrize("account", ["abc", "-1", "²", "99999999999999999999999"])
def test_a_garbage_account_filter_does_not_break_the_page(reader, mixed_calls, account):
    response = reader.get(reverse("calls:list"), {"account": account})

    assert response.status_code == 200


def test_failed_calls_stay_reachable_from_the_call_log(reader, mixed_calls):
    response = reader.get(reverse("calls:list"), {"outcome": "failed"})

    assert response.status_code == 200
    assert set(listed_ids(response)) == ids_of(mixed_calls, "shop_failed", "crm_limited")
    assert 'href="?outcome=failed"' in reader.get(reverse("calls:list")).content.decode()


def test_failed_calls_still_filter_by_account(reader, mixed_calls):
    response = reader.get(
        reverse("calls:list"), {"outcome": "failed", "account": mixed_calls["crm"].pk}
    )

    assert set(listed_ids(response)) == ids_of(mixed_calls, "crm_limited")


# --- keyset pagination --------------------------------------------------------------------
def test_older_pages_list_every_call_once_in_order(reader, db):
    account = make_account("Busy", "croct")
    make_calls(2 * PAGE_SIZE + 20, account=account)

    pages = all_pages(reader, reverse("calls:list"))

    assert [len(p) for p in pages] == [PAGE_SIZE, PAGE_SIZE, 20]
    seen = [pk for page in pages for pk in page]
    expected = list(ApiCall.objects.order_by("-started_at", "-id").values_list("pk", flat=True))
    assert seen == expected


def test_calls_started_at_the_same_instant_are_neither_repeated_nor_skipped(reader, db):
    account = make_account("Burst", "croct")
    make_calls(PAGE_SIZE + 7, account=account, same_time=True)
    make_calls(5, offset=1, account=account)

    pages = all_pages(reader, reverse("calls:list"))

    seen = [pk for page in pages for pk in page]
    assert len(seen) == len(set(seen)) == PAGE_SIZE + 12
    assert seen == list(ApiCall.objects.order_by("-started_at", "-id").values_list("pk", flat=True))


def test_the_older_link_keeps_the_filters(reader, db):
    account = make_account("Flaky", "octy")
    failed = set(
        make_calls(PAGE_SIZE + 5, account=account, outcome="failed", problem_kind="unavailable")
    )
    make_calls(PAGE_SIZE, offset=1000, account=account)

    pages = all_pages(reader, reverse("calls:list") + "?outcome=failed")

    assert len(pages) == 2
    seen = [pk for page in pages for pk in page]
    assert sorted(seen) == sorted(failed)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage",
        "!!!***",
        "%ff%fe",
        _b64(b"[1]"),
        _b64(b'{"a": 1, "b": 2}'),
        _b64(b'["not a date", 5]'),
        _b64(b'["2024-01-01T00:00:00+00:00", "x"]'),
        _b64(b"\xff\xfe\x00"),
        encode_cursor(NOW, 10**20),
    ],
)
def test_a_garbage_cursor_does_not_break_the_page(reader, db, cursor):
    account = make_account("Any", "croct")
    make_calls(3, account=account)

    response = reader.get(reverse("calls:list"), {"cursor": cursor})

    assert response.status_code == 200


def test_a_cursor_from_the_page_itself_continues_where_it_ended(reader, db):
    account = make_account("Any", "croct")
    ids = make_calls(PAGE_SIZE + 3, account=account)
    ordered = list(ApiCall.objects.order_by("-started_at", "-id").values_list("pk", flat=True))
    last_on_first_page = ApiCall.objects.get(pk=ordered[PAGE_SIZE - 1])

    response = reader.get(
        reverse("calls:list"),
        {"cursor": encode_cursor(last_on_first_page.started_at, last_on_first_page.pk)},
    )

    assert listed_ids(response) == ordered[PAGE_SIZE:]
    assert len(ids) == PAGE_SIZE + 3


# --- htmx ---------------------------------------------------------------------------------
def test_an_htmx_request_gets_only_the_rows_fragment(reader, mixed_calls):
    response = reader.get(reverse("calls:list"), {"outcome": "failed"}, HTTP_HX_REQUEST="true")

    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page
    assert 'class="filters"' not in page
    assert 'data-testid="calls"' in page
    assert set(listed_ids(response)) == ids_of(mixed_calls, "shop_failed", "crm_limited")
    assert "HX-Request" in response.get("Vary", "")


def test_an_htmx_history_restore_gets_the_whole_page(reader, mixed_calls):
    response = reader.get(
        reverse("calls:list"),
        HTTP_HX_REQUEST="true",
        HTTP_HX_HISTORY_RESTORE_REQUEST="true",
    )

    page = response.content.decode()
    assert "<html" in page
    assert 'class="filters"' in page


# --- call detail --------------------------------------------------------------------------
def test_the_detail_of_a_real_failed_call_shows_redacted_headers_and_the_problem(
    reader, demo_account, sandbox
):
    account = demo_account("octy")
    sandbox["octy"].app.faults.add(Fault(kind="status", status=503))
    with pytest.raises(ProviderError):
        provider_client(account).event_types("0")
    flush_call_log()
    call = ApiCall.objects.get()

    response = reader.get(reverse("calls:detail", args=[call.pk]))

    page = response.content.decode()
    assert response.status_code == 200
    headers = page.split('data-testid="request-headers">', 1)[1].split("</pre>", 1)[0]
    assert "Basic [REDACTED]" in html.unescape(headers)
    problem = page.split('data-testid="problem"', 1)[1].split("</section>", 1)[0]
    assert call.problem_title in problem
    assert "Transient: a retry may succeed." in problem
    assert call.problem_docs_url.startswith("https://")
    assert f'href="{call.problem_docs_url}"' in problem
    assert account.name in page
    assert call.credential_fingerprint in page


def test_a_script_docs_link_in_a_problem_is_not_rendered_as_a_link(reader, db):
    account = make_account("Evil", "croct")
    [pk] = make_calls(
        1,
        account=account,
        outcome="failed",
        problem_kind="invalid_request",
        problem_title="Bad request",
        problem_docs_url="javascript:alert(document.cookie)",
        problem_type_uri=" JavaScript:alert(1)",
        problem={"kind": "invalid_request", "title": "Bad request"},
    )

    page = reader.get(reverse("calls:detail", args=[pk])).content.decode()

    assert "Bad request" in page
    assert "Permanent: retrying" in page
    assert not re.search(r'href="\s*javascript:', page, re.IGNORECASE)
    assert "Provider documentation" not in page


def test_a_call_without_a_problem_shows_no_problem_section(reader, db):
    [pk] = make_calls(1, account=make_account("Fine", "croct"))

    page = reader.get(reverse("calls:detail", args=[pk])).content.decode()

    assert 'data-testid="problem"' not in page
    assert "— (in-process)" in page


def test_the_detail_lists_other_calls_of_the_same_user_action(reader, db):
    account = make_account("Linked", "croct")
    first, second = make_calls(2, account=account, correlation_id="corr-1")
    [other] = make_calls(1, offset=5, account=account, correlation_id="corr-2")

    page = reader.get(reverse("calls:detail", args=[first])).content.decode()

    assert "Same user action" in page
    assert f'href="{reverse("calls:detail", args=[second])}"' in page
    assert f'href="{reverse("calls:detail", args=[other])}"' not in page
    listed = reader.get(reverse("calls:list"), {"correlation": "corr-1"})
    assert set(listed_ids(listed)) == {first, second}


def test_an_unknown_call_is_not_found(reader, db):
    assert reader.get(reverse("calls:detail", args=[999999])).status_code == 404

"""The Errors page (groups: filters, sorting, keyset pages, sparklines, live updates)
and the group page (chart, occurrences, what the console did, resolve / ignore)."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from itertools import pairwise

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard.calls.group_selectors import GROUP_PAGE_SIZE
from dashboard.calls.models import ApiCall, ErrorGroup, ErrorGroupBucket
from tests.calls.conftest import (
    altcraft_problem,
    croct_problem,
    make_account,
    octy_problem,
    record,
    transport_problem,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def reader(client_for, marketer):
    return client_for(marketer)


def listed(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr data-group="(\d+)">', response.content.decode())]


def more_link(response) -> str | None:
    match = re.search(r'<a class="button" href="([^"]*)">More', response.content.decode())
    return html.unescape(match.group(1)) if match else None


@pytest.fixture
def seeded(db):
    shop, crm = make_account("Shop", "croct"), make_account("CRM", "octy")
    now = timezone.now()
    auth = record(croct_problem(401, "authentication/unknown-api-key"), account=shop, at=now)
    limited = record(
        octy_problem(429, 429, "slow"),
        account=crm,
        operation="profiles.get",
        count=5,
        at=now - timedelta(hours=2),
    )
    invalid = record(
        altcraft_problem(450, "bad"),
        provider="altcraft",
        operation="import",
        at=now - timedelta(hours=1),
    )
    timeout = record(
        transport_problem("octy", "timeout", "slow"),
        account=crm,
        operation="profiles.get",
        at=now - timedelta(hours=3),
    )
    gid = {
        name: calls[0].__class__.objects.get(pk=calls[0].pk).group_id
        for name, calls in {
            "auth": auth,
            "limited": limited,
            "invalid": invalid,
            "timeout": timeout,
        }.items()
    }
    return {"shop": shop, "crm": crm, "gid": gid}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["auth", "invalid", "limited", "timeout"]),
        ({"sort": "count"}, ["limited", "timeout", "invalid", "auth"]),
        ({"provider": "octy"}, ["limited", "timeout"]),
        ({"account": "crm"}, ["limited", "timeout"]),
        ({"operation": "import"}, ["invalid"]),
        ({"class": "auth"}, ["auth"]),
        ({"class": "rate_limit"}, ["limited"]),
        ({"class": "validation"}, ["invalid"]),
        ({"class": "transport"}, ["timeout"]),
        ({"class": "provider_down"}, []),
        ({"state": "new"}, ["auth", "invalid", "limited", "timeout"]),
        ({"state": "resolved"}, []),
        (
            {"provider": "myspace", "class": "nope", "state": "meh", "sort": "x"},
            ["auth", "invalid", "limited", "timeout"],
        ),
    ],
)
def test_the_errors_page_lists_groups_matching_its_filters(reader, seeded, params, expected):
    if "account" in params:
        params = {**params, "account": seeded[params["account"]].pk}

    response = reader.get(reverse("calls:errors"), params)

    assert response.status_code == 200
    ids = listed(response)
    if params.get("sort") == "count":
        counts = [ErrorGroup.objects.get(pk=pk).count for pk in ids]
        assert counts == sorted(counts, reverse=True)
        assert ids[0] == seeded["gid"]["limited"]
        assert set(ids) == {seeded["gid"][n] for n in expected}
    else:
        assert (
            ids == [seeded["gid"][n] for n in expected]
            if params == {}
            else set(ids) == {seeded["gid"][n] for n in expected}
        )
    if not expected:
        assert "No error groups match." in response.content.decode()


def test_each_group_has_a_sparkline_with_its_bucket_counts(reader, seeded):
    page = reader.get(reverse("calls:errors")).content.decode()

    row = page.split(f'<tr data-group="{seeded["gid"]["limited"]}">', 1)[1].split("</tr>", 1)[0]
    svg = re.search(r"<svg class=\"sparkline\".*?</svg>", row, re.S).group(0)
    assert 'data-total="5"' in svg
    counts = [int(n) for n in re.findall(r'data-count="(\d+)"', svg)]
    assert len(counts) == 24
    assert sum(counts) == 5
    assert counts.count(5) == 1
    assert "<script" not in svg
    assert "style=" not in svg


def test_the_sparkline_period_changes_the_buckets(reader, seeded):
    page = reader.get(reverse("calls:errors"), {"period": "30d"}).content.decode()

    svg = re.search(r"<svg class=\"sparkline\".*?</svg>", page, re.S).group(0)
    assert len(re.findall(r"data-count=", svg)) == 30


def _many_groups(count: int, *, same_time: bool = False) -> list[int]:
    now = timezone.now()
    rows = [
        ErrorGroup(
            fingerprint=f"fp{i:05d}",
            provider="octy",
            operation="profiles.get",
            problem_kind="unavailable",
            problem_class="provider_down",
            problem_key=f"code:{i}",
            title=f"Problem {i}",
            first_seen=now - timedelta(days=1),
            last_seen=now if same_time else now - timedelta(seconds=i),
            count=7 if same_time else i + 1,
        )
        for i in range(count)
    ]
    ErrorGroup.objects.bulk_create(rows)
    return [r.pk for r in rows]


@pytest.mark.parametrize("sort", ["last_seen", "count"])
def test_keyset_pages_list_every_group_once_in_order(reader, db, sort):
    _many_groups(2 * GROUP_PAGE_SIZE + 5, same_time=True)
    url = reverse("calls:errors") + f"?sort={sort}"
    seen, response = [], reader.get(url)
    for _ in range(10):
        seen += listed(response)
        link = more_link(response)
        if not link:
            break
        response = reader.get(reverse("calls:errors") + link)
        assert 'hx-trigger="every' not in response.content.decode()  # older pages stay still
    key = "-count" if sort == "count" else "-last_seen"
    assert seen == list(ErrorGroup.objects.order_by(key, "-id").values_list("pk", flat=True))


@pytest.mark.parametrize(
    "cursor", ["garbage", "W10", "WyJ4IiwgMV0", "WzEsIDk5OTk5OTk5OTk5OTk5OTk5OTk5XQ"]
)
def test_a_garbage_cursor_shows_the_first_page(reader, db, cursor):
    _many_groups(3)
    for sort in ("count", "last_seen"):
        response = reader.get(reverse("calls:errors"), {"cursor": cursor, "sort": sort})
        assert response.status_code == 200


def test_the_first_page_polls_for_live_updates_and_htmx_gets_the_fragment(reader, seeded):
    page = reader.get(reverse("calls:errors"), {"class": "auth"}).content.decode()
    assert 'hx-trigger="every 15s, refresh"' in page
    assert "js/errors.js" in page
    assert 'hx-get="/calls/errors/?class=auth"' in page

    fragment = reader.get(reverse("calls:errors"), {"class": "auth"}, HTTP_HX_REQUEST="true")

    body = fragment.content.decode()
    assert "<html" not in body
    assert 'class="filters"' not in body
    assert body.lstrip().startswith('<div id="error-groups"')
    assert listed(fragment) == [seeded["gid"]["auth"]]
    assert "HX-Request" in fragment["Vary"]


def test_a_new_failure_shows_up_on_the_next_poll(reader, seeded):
    before = listed(reader.get(reverse("calls:errors"), HTTP_HX_REQUEST="true"))
    record(croct_problem(404, "content/slot-not-found"), at=timezone.now())

    after = listed(reader.get(reverse("calls:errors"), HTTP_HX_REQUEST="true"))

    assert len(after) == len(before) + 1
    assert after[0] not in before


# --- group detail -------------------------------------------------------------------------
def test_the_group_page_charts_hourly_and_daily_buckets(reader, db):
    problem = octy_problem(503, 503, "down")
    now = timezone.now()
    record(problem, at=now, count=2)
    record(problem, at=now - timedelta(hours=3), count=4)
    record(problem, at=now - timedelta(days=3), count=1)
    group = ErrorGroup.objects.get()

    hourly = reader.get(reverse("calls:group", args=[group.pk])).content.decode()
    daily = reader.get(reverse("calls:group", args=[group.pk]), {"bucket": "day"}).content.decode()

    def bars(page):
        svg = re.search(r'<svg class="barchart".*?</svg>', page, re.S).group(0)
        return [int(n) for n in re.findall(r'data-count="(\d+)"', svg)]

    assert len(bars(hourly)) == 48
    assert bars(hourly)[-1] == 2
    assert bars(hourly)[-4] == 4
    assert sum(bars(hourly)) == 6
    assert len(bars(daily)) == 30
    assert sum(bars(daily)) == 7


def test_the_group_page_shows_occurrences_docs_and_what_the_console_did(reader, db):
    account = make_account("Shop", "croct")
    problem = croct_problem(503, "service-unavailable", "try later")
    now = timezone.now()
    [retried] = record(problem, account=account, at=now - timedelta(minutes=3), correlation="c1")
    record(None, provider="croct", account=account, at=now - timedelta(minutes=2), correlation="c1")
    [gave_up] = record(
        croct_problem(503, "service-unavailable"),
        account=account,
        at=now,
        correlation="c2",
        subject=("preview", "42"),
    )
    group = ErrorGroup.objects.get()

    page = reader.get(reverse("calls:group", args=[group.pk])).content.decode()

    assert f'href="{reverse("calls:detail", args=[retried.pk])}"' in page
    assert f'href="{reverse("calls:detail", args=[gave_up.pk])}"' in page
    actions = re.findall(r'data-testid="console-action">([^<]*)', page)
    assert actions[0].startswith("Not retried (yet)")
    assert actions[1] == "Retried; succeeded after 1 more attempt"
    assert 'href="https://croct.help/api/service-unavailable"' in page
    assert "preview #42" in page
    assert f'href="{reverse("previews:detail", kwargs={"pk": 42})}"' in page
    assert "fp-one" in page
    assert f"?group={group.pk}" in page
    listed_calls = reader.get(reverse("calls:list"), {"group": group.pk}).content.decode()
    assert set(map(int, re.findall(r'<td><a href="/calls/(\d+)/">', listed_calls))) == {
        retried.pk,
        gave_up.pk,
    }


def test_admins_resolve_with_a_note_and_see_it(client_for, admin, db):
    record(croct_problem(401, "authentication/unknown-api-key"))
    group = ErrorGroup.objects.get()
    client = client_for(admin)

    page = client.get(reverse("calls:group", args=[group.pk])).content.decode()
    assert 'data-testid="resolve"' in page
    response = client.post(
        reverse("calls:group_state", args=[group.pk]),
        {"action": "resolve", "note": "rotated the key"},
    )

    assert response.status_code == 302
    group.refresh_from_db()
    assert group.state == "resolved"
    page = client.get(response.url).content.decode()
    assert "rotated the key" in page
    assert "Group marked resolved." in page


def test_readers_see_no_resolve_form_and_cannot_post(client_for, support, db):
    record(croct_problem(401, "authentication/unknown-api-key"))
    group = ErrorGroup.objects.get()
    client = client_for(support)

    assert (
        'data-testid="state-form"'
        not in client.get(reverse("calls:group", args=[group.pk])).content.decode()
    )
    response = client.post(reverse("calls:group_state", args=[group.pk]), {"action": "resolve"})

    assert response.status_code == 403
    group.refresh_from_db()
    assert group.state == "new"


def test_a_bad_action_is_a_message_not_an_error(client_for, admin, db):
    record(croct_problem(401, "authentication/unknown-api-key"))
    group = ErrorGroup.objects.get()

    response = client_for(admin).post(
        reverse("calls:group_state", args=[group.pk]), {"action": "reopen"}, follow=True
    )

    assert response.status_code == 200
    assert "only a resolved or ignored group can be reopened" in response.content.decode()


def test_provider_text_in_titles_is_escaped(reader, db):
    record(croct_problem(400, "x", title='<img src=x onerror="alert(1)">'))
    group = ErrorGroup.objects.get()

    for url in (reverse("calls:errors"), reverse("calls:group", args=[group.pk])):
        assert "<img src=x" not in reader.get(url).content.decode()


def test_bucket_rows_are_used_for_the_chart_not_raw_calls(reader, db):
    record(octy_problem(503, 503, "down"), count=2)
    group = ErrorGroup.objects.get()
    ApiCall.objects.all().delete()
    ErrorGroupBucket.objects.filter(group=group).update(count=9)

    page = reader.get(reverse("calls:group", args=[group.pk])).content.decode()

    assert 'data-total="9"' in page


@pytest.mark.parametrize(
    ("period", "buckets", "step_hours"), [("24h", 24, 1), ("7d", 28, 6), ("30d", 30, 24)]
)
def test_chart_buckets_are_aligned_and_end_with_the_current_one(period, buckets, step_hours):
    from dashboard.calls.group_selectors import bucket_edges

    now = timezone.now().replace(hour=13, minute=37)
    edges = bucket_edges(period, now=now)

    assert len(edges) == buckets
    assert edges[-1] <= now < edges[-1] + timedelta(hours=step_hours)
    assert all(b - a == timedelta(hours=step_hours) for a, b in pairwise(edges))
    assert all(e.minute == 0 and e.hour % step_hours == 0 for e in edges)

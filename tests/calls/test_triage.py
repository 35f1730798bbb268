"""Error triage (#20): search, assignee filters, snoozes that end by themselves, bulk
changes with the sentence saying what was done, who may, and the audit trail."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dashboard.calls.models import ErrorGroup, ErrorGroupNote
from tests.calls.conftest import croct_problem, octy_problem, record


@pytest.fixture
def groups(db):
    """Three groups: a Croct auth failure, an Octy validation error, an Octy 503."""
    record(croct_problem(401, "authentication/unknown-api-key", title="Unknown API key"))
    record(octy_problem(400, 1003, "Profile id missing"), operation="octy.profiles.get")
    record(octy_problem(503, 5000, "Service unavailable"), operation="octy.events.send")
    return {g.operation + ":" + str(g.status): g for g in ErrorGroup.objects.all()}


def _listed(client, **params) -> list[int]:
    response = client.get(reverse("calls:errors"), params)
    assert response.status_code == 200
    return [row["group"].pk for row in response.context["rows"]]


def _group(groups, status: int) -> ErrorGroup:
    return next(g for g in groups.values() if g.status == status)


def test_search_matches_titles_and_causes(client_for, support, groups):
    client = client_for(support)
    auth = _group(groups, 401)
    assert _listed(client, q="unknown api") == [auth.pk]  # the title, any case
    assert _listed(client, q="authentication/unknown") == [auth.pk]  # the cause
    assert _listed(client, q="code:1003") == [_group(groups, 400).pk]  # Octy's code
    assert _listed(client, q="no such words") == []
    assert len(_listed(client)) == 3


def test_a_support_user_assigns_and_filters_mine_and_unassigned(client_for, support, admin, groups):
    client = client_for(support)
    auth = _group(groups, 401)

    response = client.post(reverse("calls:group_assign", args=[auth.pk]), {"assignee": support.pk})

    assert response.status_code == 302
    auth.refresh_from_db()
    assert auth.assignee == support
    assert _listed(client, assigned="me") == [auth.pk]
    assert auth.pk not in _listed(client, assigned="none")
    assert len(_listed(client, assigned="none")) == 2
    assert _listed(client_for(admin), assigned="me") == []  # "mine" is per person
    note = ErrorGroupNote.objects.get(group=auth)
    assert (note.action, note.note, note.author) == ("assign", f"to {support.username}", support)
    page = client_for(support).get(reverse("calls:group", args=[auth.pk])).content.decode()
    assert f'data-testid="group-assignee">{support.username}<' in page


def test_only_staff_may_be_assigned(client_for, support, groups, django_user_model):
    outsider = django_user_model.objects.create_user(username="no-role", password="x")
    auth = _group(groups, 401)
    client_for(support).post(
        reverse("calls:group_assign", args=[auth.pk]), {"assignee": outsider.pk}
    )
    auth.refresh_from_db()
    assert auth.assignee is None
    assert not ErrorGroupNote.objects.exists()


def test_a_snooze_until_a_time_hides_the_group_until_the_time_passes(client_for, support, groups):
    client = client_for(support)
    auth = _group(groups, 401)

    client.post(reverse("calls:group_snooze", args=[auth.pk]), {"hours": "1"})

    assert auth.pk not in _listed(client)
    assert _listed(client, snoozed="only") == [auth.pk]
    assert auth.pk in _listed(client, snoozed="all")
    note = ErrorGroupNote.objects.get(group=auth)
    assert note.action == "snooze"
    assert note.note.startswith("until ")
    with time_machine.travel(timezone.now() + timedelta(hours=1, minutes=1), tick=False):
        client.force_login(support)  # the console's idle sign-out ended the old session
        assert auth.pk in _listed(client)  # back by itself: nothing had to run
        assert _listed(client, snoozed="only") == []


def test_a_snooze_for_more_occurrences_ends_when_the_count_is_reached(client_for, support, groups):
    client = client_for(support)
    auth = _group(groups, 401)
    client.post(reverse("calls:group_snooze", args=[auth.pk]), {"occurrences": "3"})
    auth.refresh_from_db()
    assert auth.snoozed_until_count == auth.count + 3

    record(croct_problem(401, "authentication/unknown-api-key"), count=2)
    assert auth.pk not in _listed(client)  # two of three
    record(croct_problem(401, "authentication/unknown-api-key"))
    assert auth.pk in _listed(client)  # the third folded in: back
    page = client.get(reverse("calls:group", args=[auth.pk])).content.decode()
    assert "back in the list" in page


def test_a_snooze_in_the_past_or_with_two_ends_is_refused(client_for, support, groups):
    client = client_for(support)
    auth = _group(groups, 401)
    past = (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    client.post(reverse("calls:group_snooze", args=[auth.pk]), {"until": past})
    client.post(reverse("calls:group_snooze", args=[auth.pk]), {"hours": "1", "occurrences": "2"})
    auth.refresh_from_db()
    assert auth.snoozed_until is None
    assert auth.snoozed_until_count is None
    assert not ErrorGroupNote.objects.exists()


def test_ending_a_snooze_brings_the_group_back(client_for, support, groups):
    client = client_for(support)
    auth = _group(groups, 401)
    client.post(reverse("calls:group_snooze", args=[auth.pk]), {"hours": "24"})
    client.post(reverse("calls:group_unsnooze", args=[auth.pk]))
    assert auth.pk in _listed(client)
    assert list(ErrorGroupNote.objects.values_list("action", flat=True)) == ["unsnooze", "snooze"]


def test_bulk_resolve_says_what_was_done_and_audits_each_group(client_for, admin, groups):
    client = client_for(admin)
    ids = [g.pk for g in groups.values()]
    ErrorGroup.objects.filter(pk=ids[0]).update(state="resolved")

    response = client.post(
        reverse("calls:groups_bulk"),
        {"action": "resolve", "group": [str(i) for i in ids], "query": "sort=count&q=x"},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == reverse("calls:errors") + "?sort=count&q=x"
    assert "2 groups resolved. 1 group already was." in response.content.decode()
    assert set(ErrorGroup.objects.values_list("state", flat=True)) == {"resolved"}
    assert ErrorGroupNote.objects.filter(action="resolve", author=admin).count() == 2


def test_bulk_assign_by_support_and_the_sentence(client_for, support, groups):
    client = client_for(support)
    ids = [str(g.pk) for g in groups.values()]
    response = client.post(
        reverse("calls:groups_bulk"),
        {"action": "assign", "group": ids, "assignee": support.pk},
        follow=True,
    )
    assert "3 groups assigned to support-user." in response.content.decode()
    assert set(ErrorGroup.objects.values_list("assignee", flat=True)) == {support.pk}
    assert ErrorGroupNote.objects.filter(action="assign").count() == 3


def test_support_may_not_resolve_or_ignore_in_bulk(client_for, support, groups):
    ids = [str(g.pk) for g in groups.values()]
    for action in ("resolve", "ignore"):
        response = client_for(support).post(
            reverse("calls:groups_bulk"), {"action": action, "group": ids}
        )
        assert response.status_code == 403
    assert set(ErrorGroup.objects.values_list("state", flat=True)) == {"new"}
    assert not ErrorGroupNote.objects.exists()


def test_marketers_see_no_triage_controls_and_may_not_triage(client_for, marketer, groups):
    client = client_for(marketer)
    page = client.get(reverse("calls:errors")).content.decode()
    assert 'data-testid="bulk-form"' not in page
    assert 'data-testid="select-group"' not in page
    auth = _group(groups, 401)
    assert (
        client.post(reverse("calls:group_snooze", args=[auth.pk]), {"hours": "1"}).status_code
        == 403
    )
    auth.refresh_from_db()
    assert auth.snoozed_until is None


def test_the_list_shows_checkboxes_and_only_allowed_bulk_actions(
    client_for, support, admin, groups
):
    support_page = client_for(support).get(reverse("calls:errors")).content.decode()
    assert support_page.count('data-testid="select-group"') == 3
    assert 'value="resolve"' not in support_page
    admin_page = client_for(admin).get(reverse("calls:errors")).content.decode()
    assert 'value="resolve"' in admin_page
    assert 'value="ignore"' in admin_page


def _assign_all(client, user) -> None:
    client.post(
        reverse("calls:groups_bulk"),
        {
            "action": "assign",
            "group": [str(pk) for pk in ErrorGroup.objects.values_list("pk", flat=True)],
            "assignee": user.pk,
        },
    )


def _queries(client) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("calls:errors"), {"q": "o", "assigned": "me"}).status_code == 200
    return len(captured)


def test_assignees_and_search_add_no_query_per_row(client_for, admin, groups):
    client = client_for(admin)
    _assign_all(client, admin)
    few = _queries(client)
    for code in range(2001, 2006):
        record(octy_problem(400, code, "Bad field"), operation="octy.profiles.get")
    _assign_all(client, admin)
    assert len(_listed(client, q="o", assigned="me")) == 8
    assert _queries(client) == few

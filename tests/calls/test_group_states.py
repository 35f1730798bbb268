"""A group's life: new, ongoing, resolved, regressed, ignored, reopened."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dashboard.calls.groups import GroupStateError, group_set_state
from dashboard.calls.models import ErrorGroup, ErrorGroupNote
from tests.calls.conftest import croct_problem, record

pytestmark = pytest.mark.django_db

PROBLEM = croct_problem(401, "authentication/unknown-api-key")


def group() -> ErrorGroup:
    return ErrorGroup.objects.get()


def test_a_first_failure_makes_a_new_group():
    record(PROBLEM)

    assert group().state == "new"


def test_a_new_group_seen_again_within_the_window_stays_new(settings):
    settings.ERROR_GROUP_NEW_HOURS = 24
    now = timezone.now()
    record(PROBLEM, at=now - timedelta(hours=2))
    record(PROBLEM, at=now)

    assert group().state == "new"


def test_a_new_group_that_keeps_happening_becomes_ongoing(settings):
    settings.ERROR_GROUP_NEW_HOURS = 24
    now = timezone.now()
    record(PROBLEM, at=now - timedelta(hours=30))
    record(PROBLEM, at=now)

    assert group().state == "ongoing"
    assert group().state_changed_at is not None


def test_a_resolved_group_that_comes_back_regresses(admin):
    record(PROBLEM, at=timezone.now() - timedelta(minutes=10))
    resolved = group_set_state(group=group(), action="resolve", note="rotated the key", actor=admin)
    assert resolved.state == "resolved"
    assert resolved.resolved_at is not None

    record(PROBLEM, at=timezone.now() + timedelta(seconds=1))

    regressed = group()
    assert regressed.state == "regressed"
    assert regressed.regressed_at > regressed.resolved_at
    assert regressed.count == 2


def test_a_late_written_call_from_before_the_resolve_does_not_regress(admin):
    before = timezone.now() - timedelta(minutes=5)
    record(PROBLEM, at=before - timedelta(minutes=1))
    group_set_state(group=group(), action="resolve", actor=admin)

    record(PROBLEM, at=before)  # a batch written late by the background writer

    assert group().state == "resolved"
    assert group().count == 2


def test_a_regressed_group_stays_regressed_until_resolved_again(admin):
    record(PROBLEM, at=timezone.now() - timedelta(minutes=10))
    group_set_state(group=group(), action="resolve", actor=admin)
    record(PROBLEM, at=timezone.now() + timedelta(seconds=1))
    record(PROBLEM, at=timezone.now() + timedelta(seconds=2))
    assert group().state == "regressed"

    group_set_state(group=group(), action="resolve", actor=admin)
    assert group().state == "resolved"


def test_an_ignored_group_keeps_counting_but_never_regresses(admin):
    record(PROBLEM)
    group_set_state(group=group(), action="ignore", note="known sandbox noise", actor=admin)

    record(PROBLEM, at=timezone.now() + timedelta(seconds=1), count=3)

    assert group().state == "ignored"
    assert group().count == 4


def test_resolved_and_ignored_groups_can_be_reopened(admin):
    record(PROBLEM)
    with pytest.raises(GroupStateError):
        group_set_state(group=group(), action="reopen", actor=admin)
    group_set_state(group=group(), action="ignore", actor=admin)

    assert group_set_state(group=group(), action="reopen", actor=admin).state == "ongoing"


def test_every_change_is_noted_with_who_and_why(admin):
    record(PROBLEM)
    group_set_state(group=group(), action="resolve", note="  fixed upstream ", actor=admin)

    note = ErrorGroupNote.objects.get()
    assert (note.action, note.note, note.author) == ("resolve", "fixed upstream", admin)


def test_an_unknown_action_is_refused(admin):
    record(PROBLEM)
    with pytest.raises(GroupStateError):
        group_set_state(group=group(), action="delete", actor=admin)

"""Triage of error groups (issue #20): search, an assignee, snoozes, bulk changes.

A snooze is two nullable columns on the group, ``snoozed_until`` (a time) and
``snoozed_until_count`` (the group's ``count`` at which it wakes). Both are compared
at read time (:func:`is_snoozed`, :meth:`TriageFilters.apply`), so a group comes back
by itself the moment the time passes or the fold (``groups.fold_failures``) adds the
occurrence that reaches the number: nothing has to run to wake it.

Every change writes an :class:`~dashboard.calls.models.ErrorGroupNote`, the trail the
group page's History shows, as resolve and ignore do.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from dashboard.calls.groups import GroupStateError, group_set_state
from dashboard.calls.models import ErrorGroup, ErrorGroupNote, GroupState
from dashboard.core.roles import ROLES

# A search term is matched with LIKE over the groups table: bounded by the page's
# LIMIT (the scan stops at the first page of matches) and by this length.
SEARCH_MAX_LENGTH = 100
SNOOZED_CHOICES = {"": "Hide snoozed", "only": "Only snoozed", "all": "Include snoozed"}
ASSIGNED_CHOICES = {"": "Anyone", "me": "Mine", "none": "Unassigned"}
BULK_ACTIONS = ("resolve", "ignore", "assign")
BULK_LIMIT = 100
MAX_SNOOZE_OCCURRENCES = 1_000_000


@dataclass(frozen=True)
class TriageFilters:
    """The Errors page's triage narrowing: text, assignee, snoozed groups."""

    q: str = ""
    assigned: str = ""  # "", "me" or "none"
    user_id: int | None = None  # who "me" is
    snoozed: str = ""  # "" hides snoozed groups, "only", "all"

    def apply(self, qs: QuerySet[ErrorGroup], *, now: datetime | None = None):
        if self.q:
            text = (
                Q(title__icontains=self.q)
                | Q(problem_key__icontains=self.q)
                | Q(problem_code__icontains=self.q)
                | Q(operation__icontains=self.q)
            )
            qs = qs.filter(text)
        if self.assigned == "me":
            qs = qs.filter(assignee_id=self.user_id)
        elif self.assigned == "none":
            qs = qs.filter(assignee__isnull=True)
        # The list shows each group's assignee: one join, not a query per row.
        qs = qs.select_related("assignee")
        asleep = snoozed_q(now or timezone.now())
        if self.snoozed == "only":
            qs = qs.filter(asleep)
        elif self.snoozed != "all":
            qs = qs.exclude(asleep)
        return qs


def snoozed_q(now: datetime) -> Q:
    """Groups whose snooze still holds at ``now`` (NULL columns never match)."""
    return Q(snoozed_until__gt=now) | Q(
        snoozed_until_count__isnull=False, snoozed_until_count__gt=F("count")
    )


def is_snoozed(group: ErrorGroup, *, now: datetime | None = None) -> bool:
    return group.is_snoozed_at(now or timezone.now())


def snooze_sentence(group: ErrorGroup, *, now: datetime | None = None) -> str:
    """What the group page says about the snooze ("" when there is none)."""
    now = now or timezone.now()
    if group.snoozed_until:
        when = timezone.localtime(group.snoozed_until).strftime("%Y-%m-%d %H:%M")
        if group.snoozed_until > now:
            return f"Snoozed until {when}."
        return f"Was snoozed until {when}; back in the list."
    if group.snoozed_until_count is not None:
        left = group.snoozed_until_count - group.count
        if left > 0:
            return f"Snoozed until {left} more occurrence{'s' if left != 1 else ''}."
        return "Was snoozed until a number of occurrences; reached, back in the list."
    return ""


def assignable_users() -> QuerySet:
    """Staff who can be given a group: active users holding one of the roles."""
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name__in=ROLES)
        .distinct()
        .order_by("username")
    )


def _note(group: ErrorGroup, action: str, note: str, actor) -> None:
    ErrorGroupNote.objects.create(
        group=group, action=action, note=note[:2000], author=actor if actor.pk else None
    )


def group_assign(*, group: ErrorGroup, assignee, actor) -> ErrorGroup:
    """Give ``group`` to ``assignee`` (a user from :func:`assignable_users`), or to
    nobody with ``None``; audited. Raises :class:`GroupStateError` for a user who
    holds no role."""
    if assignee is not None and not assignable_users().filter(pk=assignee.pk).exists():
        raise GroupStateError(f"{assignee.get_username()} is not a staff member")
    with transaction.atomic():
        ErrorGroup.objects.filter(pk=group.pk).update(assignee=assignee)
        if assignee is None:
            _note(group, "unassign", "", actor)
        else:
            _note(group, "assign", f"to {assignee.get_username()}", actor)
    group.refresh_from_db()
    return group


def group_snooze(
    *,
    group: ErrorGroup,
    actor,
    until: datetime | None = None,
    occurrences: int | None = None,
    note: str = "",
) -> ErrorGroup:
    """Hide ``group`` from the default list until ``until`` or until ``occurrences``
    more failures are folded in (exactly one of the two); audited.

    Raises :class:`GroupStateError` for a time in the past, a count below one, or
    both or neither given.
    """
    if (until is None) == (occurrences is None):
        raise GroupStateError("snooze until a time or for a number of occurrences, one of them")
    now = timezone.now()
    if until is not None and until <= now:
        raise GroupStateError("the snooze must end in the future")
    if occurrences is not None and not 1 <= occurrences <= MAX_SNOOZE_OCCURRENCES:
        raise GroupStateError(f"occurrences must be from 1 to {MAX_SNOOZE_OCCURRENCES}")
    with transaction.atomic():
        if until is not None:
            ErrorGroup.objects.filter(pk=group.pk).update(
                snoozed_until=until, snoozed_until_count=None
            )
            said = f"until {timezone.localtime(until):%Y-%m-%d %H:%M %Z}"
        else:
            # Counted from the group's count now, in the database: an occurrence folded
            # in meanwhile counts towards the wake-up.
            ErrorGroup.objects.filter(pk=group.pk).update(
                snoozed_until=None, snoozed_until_count=F("count") + occurrences
            )
            said = f"for {occurrences} more occurrence{'s' if occurrences != 1 else ''}"
        _note(group, "snooze", f"{said}. {note.strip()}".strip(), actor)
    group.refresh_from_db()
    return group


def group_unsnooze(*, group: ErrorGroup, actor) -> ErrorGroup:
    with transaction.atomic():
        ErrorGroup.objects.filter(pk=group.pk).update(snoozed_until=None, snoozed_until_count=None)
        _note(group, "unsnooze", "", actor)
    group.refresh_from_db()
    return group


@dataclass(frozen=True)
class BulkOutcome:
    changed: int
    unchanged: int
    sentence: str


_DONE = {"resolve": "resolved", "ignore": "ignored"}


def _groups(n: int) -> str:
    return f"{n} group{'s' if n != 1 else ''}"


def groups_bulk(
    *, group_ids: Iterable[int], action: str, actor, assignee=None, note: str = ""
) -> BulkOutcome:
    """Resolve, ignore or assign (``assignee``; ``None`` unassigns) several groups at
    once, each change audited as if made on its own page. Groups already in the asked
    state are left alone and counted as unchanged."""
    if action not in BULK_ACTIONS:
        raise GroupStateError(f"unknown action {action!r}")
    groups = list(ErrorGroup.objects.filter(pk__in=list(group_ids)[:BULK_LIMIT]))
    changed = 0
    for group in groups:
        if action == "assign":
            if group.assignee_id == (assignee.pk if assignee else None):
                continue
            group_assign(group=group, assignee=assignee, actor=actor)
        else:
            if (
                group.state
                == {"resolve": GroupState.RESOLVED, "ignore": GroupState.IGNORED}[action]
            ):
                continue
            group_set_state(group=group, action=action, note=note, actor=actor)
        changed += 1
    unchanged = len(groups) - changed
    if action == "assign":
        verb = f"assigned to {assignee.get_username()}" if assignee else "unassigned"
    else:
        verb = _DONE[action]
    sentence = f"{_groups(changed)} {verb}."
    if unchanged:
        sentence += f" {_groups(unchanged)} already {'were' if unchanged != 1 else 'was'}."
    return BulkOutcome(changed=changed, unchanged=unchanged, sentence=sentence)

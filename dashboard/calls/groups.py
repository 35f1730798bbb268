"""Folding failed calls into error groups (issue #8).

A group is every failure with the same fingerprint: provider + operation + problem
kind + the normalized cause (the Problem's type URI, else the provider's code, else
the HTTP status — 5xx as one class —, else the transport failure kind). Free text
(titles, details, ids inside messages) never takes part, so "profile 123 not found"
and "profile 456 not found" are one group and a different provider code is another.

:func:`fold_failures` runs on the recording path of every failed call, with the rows
just inserted (a batch from the background writer, or one row). It costs a fixed
number of statements per batch whatever its size: one multi-row upsert for the groups,
one UPDATE per distinct fingerprint to link the calls, and one multi-row upsert each
for hourly buckets, accounts, credential fingerprints and subjects. Counts are added
by the database (``count = count + excluded.count``) so concurrent writers in several
processes never lose an increment.

Over 400 lines on purpose: the fingerprint rules, the upserts that apply them and the
state changes they feed are one algorithm, read together.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from dashboard.calls.models import (
    ApiCall,
    ErrorGroup,
    ErrorGroupAccount,
    ErrorGroupBucket,
    ErrorGroupCredential,
    ErrorGroupNote,
    ErrorGroupSubject,
    GroupState,
    ProblemClass,
)
from integrations import errors

logger = logging.getLogger(__name__)

# Statements stay well under SQLite's bound-variable limit.
_CHUNK = 200

KIND_CLASSES: dict[str, str] = {
    errors.AUTH: ProblemClass.AUTH,
    errors.RATE_LIMITED: ProblemClass.RATE_LIMIT,
    errors.QUOTA: ProblemClass.RATE_LIMIT,
    errors.INVALID_REQUEST: ProblemClass.VALIDATION,
    errors.NOT_FOUND: ProblemClass.VALIDATION,
    errors.CONFLICT: ProblemClass.VALIDATION,
    errors.AMBIGUOUS: ProblemClass.VALIDATION,
    errors.CONFIGURATION: ProblemClass.VALIDATION,
    errors.UNAVAILABLE: ProblemClass.PROVIDER_DOWN,
    errors.MALFORMED_RESPONSE: ProblemClass.PROVIDER_DOWN,
    errors.SUSPENDED: ProblemClass.PROVIDER_DOWN,
    errors.TIMEOUT: ProblemClass.TRANSPORT,
    errors.TRANSPORT: ProblemClass.TRANSPORT,
}
# Failures that have no status worth grouping on: the kind says it all.
_KIND_ONLY = frozenset({errors.TIMEOUT, errors.TRANSPORT, errors.MALFORMED_RESPONSE})


def problem_class(kind: str) -> str:
    return KIND_CLASSES.get(kind, ProblemClass.OTHER)


def problem_key(*, kind: str, type_uri: str = "", code: str = "", status: int | None = None) -> str:
    """The normalized cause of a failure, never free text."""
    if type_uri.strip():
        parts = urlsplit(type_uri.strip())
        # Scheme and host are case-insensitive; a query or fragment is decoration.
        return "type:" + urlunsplit(
            (parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"), "", "")
        )
    if code.strip():
        return "code:" + code.strip().lower()
    if kind in _KIND_ONLY or not status:
        return "kind:" + (kind or errors.UNKNOWN)
    return "status:5xx" if status >= 500 else f"status:{status}"


def fingerprint_of(
    *, provider: str, operation: str, kind: str, type_uri: str = "", code: str = "", status=None
) -> tuple[str, str]:
    """``(fingerprint, problem_key)`` for one failure."""
    key = problem_key(kind=kind, type_uri=type_uri, code=code, status=status)
    raw = "\x1f".join((provider, operation, kind or errors.UNKNOWN, key))
    return hashlib.sha1(raw.encode(), usedforsecurity=False).hexdigest(), key


def call_fingerprint(call: ApiCall) -> tuple[str, str]:
    return fingerprint_of(
        provider=call.provider,
        operation=call.operation,
        kind=call.problem_kind,
        type_uri=call.problem_type_uri,
        code=call.problem_code,
        status=call.status,
    )


@dataclass
class _Fold:
    """One fingerprint's share of a batch."""

    key: str
    latest: ApiCall
    first: datetime
    last: datetime
    ids: list[int] = field(default_factory=list)
    hours: dict[datetime, int] = field(default_factory=dict)
    accounts: dict[int, list] = field(default_factory=dict)  # id -> [first, last, count]
    credentials: dict[str, list] = field(default_factory=dict)
    subjects: dict[tuple[str, str], datetime] = field(default_factory=dict)


def _collect(calls: Sequence[ApiCall]) -> dict[str, _Fold]:
    folds: dict[str, _Fold] = {}
    for call in calls:
        if call.pk is None:
            continue
        fingerprint, key = call_fingerprint(call)
        at = call.started_at
        fold = folds.get(fingerprint)
        if fold is None:
            fold = folds[fingerprint] = _Fold(key=key, latest=call, first=at, last=at)
        elif at >= fold.last:
            fold.latest, fold.last = call, at
        fold.first = min(fold.first, at)
        fold.ids.append(call.pk)
        hour = at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
        fold.hours[hour] = fold.hours.get(hour, 0) + 1
        _spread(fold.accounts, call.account_id, at)
        _spread(fold.credentials, call.credential_fingerprint, at)
        if call.subject_type and call.subject_id:
            subject = (call.subject_type, call.subject_id)
            fold.subjects[subject] = min(fold.subjects.get(subject, at), at)
    return folds


def _spread(seen: dict, key, at: datetime) -> None:
    if not key:
        return
    entry = seen.get(key)
    if entry is None:
        seen[key] = [at, at, 1]
    else:
        entry[0], entry[1], entry[2] = min(entry[0], at), max(entry[1], at), entry[2] + 1


def fold_failures(calls: Sequence[ApiCall]) -> None:
    """Attach freshly stored failed calls to their error groups.

    Never raises for a database error: groups are derived data, and the recording path
    must not lose its calls for them. Calls left without a group are picked up by the
    ``calls.fold_stragglers`` task.
    """
    folds = _collect([c for c in calls if c.is_failure])
    if not folds:
        return
    try:
        with transaction.atomic():
            _fold(folds)
    except DatabaseError:
        logger.exception("error_group_fold_failed", extra={"calls": len(calls)})


def adapt_datetime(value: datetime):
    return connection.ops.adapt_datetimefield_value(value)


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _fold(folds: dict[str, _Fold]) -> None:
    now = timezone.now()
    items = list(folds.items())
    group_ids: dict[str, int] = {}
    subjects_counts: dict[str, int] = {}
    for start in range(0, len(items), _CHUNK):
        for gid, fingerprint, subjects in _upsert_groups(items[start : start + _CHUNK], now=now):
            group_ids[fingerprint] = gid
            subjects_counts[fingerprint] = subjects
    for fingerprint, fold in items:
        # The time range lets PostgreSQL touch only the partitions these calls are in.
        ApiCall.objects.filter(pk__in=fold.ids, started_at__range=(fold.first, fold.last)).update(
            group_id=group_ids[fingerprint]
        )
    _upsert_children(folds, group_ids, subjects_counts)


def _upsert_groups(items: list[tuple[str, _Fold]], *, now: datetime):
    table = _q(ErrorGroup._meta.db_table)
    columns = [
        "fingerprint",
        "provider",
        "operation",
        "problem_kind",
        "problem_class",
        "problem_key",
        "title",
        "status",
        "problem_code",
        "type_uri",
        "docs_url",
        "retryable",
        "first_seen",
        "last_seen",
        "count",
        "subjects_count",
        "state",
        "state_changed_at",
    ]
    rows, params = [], []
    for fingerprint, fold in items:
        call = fold.latest
        rows.append("(" + ", ".join(["%s"] * len(columns)) + ")")
        params += [
            fingerprint,
            call.provider,
            call.operation,
            call.problem_kind or errors.UNKNOWN,
            problem_class(call.problem_kind),
            fold.key[:320],
            (call.problem_title or errors.KIND_LABELS.get(call.problem_kind, ""))[:300]
            or "Unexpected answer",
            call.status,
            call.problem_code[:60],
            call.problem_type_uri[:300],
            call.problem_docs_url[:500],
            call.problem_retryable,
            adapt_datetime(fold.first),
            adapt_datetime(fold.last),
            len(fold.ids),
            0,
            GroupState.NEW,
            adapt_datetime(now),
        ]
    new_window = timedelta(hours=settings.ERROR_GROUP_NEW_HOURS)
    regresses = "g.state = 'resolved' AND excluded.last_seen > g.resolved_at"
    settles = "g.state = 'new' AND g.first_seen < %s"
    sql = (
        f"INSERT INTO {table} AS g ({', '.join(_q(c) for c in columns)}) "  # noqa: S608
        f"VALUES {', '.join(rows)} "
        "ON CONFLICT (fingerprint) DO UPDATE SET "
        "count = g.count + excluded.count, "
        "last_seen = CASE WHEN excluded.last_seen > g.last_seen "
        "THEN excluded.last_seen ELSE g.last_seen END, "
        "first_seen = CASE WHEN excluded.first_seen < g.first_seen "
        "THEN excluded.first_seen ELSE g.first_seen END, "
        # The newest wording of the same cause, and its documentation when it has one.
        "title = excluded.title, "
        "docs_url = CASE WHEN excluded.docs_url <> '' THEN excluded.docs_url ELSE g.docs_url END, "
        f"state = CASE WHEN {regresses} THEN 'regressed' WHEN {settles} THEN 'ongoing' "
        "ELSE g.state END, "
        f"regressed_at = CASE WHEN {regresses} THEN excluded.last_seen ELSE g.regressed_at END, "
        f"state_changed_at = CASE WHEN ({regresses}) OR ({settles}) "
        "THEN excluded.state_changed_at ELSE g.state_changed_at END "
        "RETURNING id, fingerprint, subjects_count"
    )
    cutoff = adapt_datetime(now - new_window)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, cutoff, cutoff])
        return cursor.fetchall()


def _upsert_children(
    folds: dict[str, _Fold], group_ids: dict[str, int], subjects_counts: dict[str, int]
) -> None:
    buckets, accounts, credentials, subjects = [], [], [], []
    limit = settings.ERROR_GROUP_SUBJECT_LIMIT
    for fingerprint, fold in folds.items():
        gid = group_ids[fingerprint]
        buckets += [(gid, adapt_datetime(hour), n) for hour, n in fold.hours.items()]
        accounts += [
            (gid, account_id, adapt_datetime(first), adapt_datetime(last), n)
            for account_id, (first, last, n) in fold.accounts.items()
        ]
        credentials += [
            (gid, fp[:32], adapt_datetime(first), adapt_datetime(last), n)
            for fp, (first, last, n) in fold.credentials.items()
        ]
        room = limit - subjects_counts.get(fingerprint, 0)
        if room > 0:
            subjects += [
                (gid, kind[:40], sid[:64], adapt_datetime(at))
                for (kind, sid), at in list(fold.subjects.items())[:room]
            ]
    upsert_rows(
        ErrorGroupBucket,
        ("group_id", "hour", "count"),
        buckets,
        conflict=("group_id", "hour"),
        update="count = t.count + excluded.count",
    )
    spread_update = (
        "count = t.count + excluded.count, "
        "first_seen = CASE WHEN excluded.first_seen < t.first_seen "
        "THEN excluded.first_seen ELSE t.first_seen END, "
        "last_seen = CASE WHEN excluded.last_seen > t.last_seen "
        "THEN excluded.last_seen ELSE t.last_seen END"
    )
    upsert_rows(
        ErrorGroupAccount,
        ("group_id", "account_id", "first_seen", "last_seen", "count"),
        accounts,
        conflict=("group_id", "account_id"),
        update=spread_update,
    )
    upsert_rows(
        ErrorGroupCredential,
        ("group_id", "fingerprint", "first_seen", "last_seen", "count"),
        credentials,
        conflict=("group_id", "fingerprint"),
        update=spread_update,
    )
    if subjects:
        upsert_rows(
            ErrorGroupSubject,
            ("group_id", "subject_type", "subject_id", "first_seen"),
            subjects,
            conflict=("group_id", "subject_type", "subject_id"),
            update="",
        )
        touched = sorted({row[0] for row in subjects})
        group_table = _q(ErrorGroup._meta.db_table)
        subject_table = _q(ErrorGroupSubject._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {group_table} SET subjects_count = (SELECT COUNT(*) FROM "  # noqa: S608
                f"{subject_table} s WHERE s.group_id = {group_table}.id) "
                f"WHERE id IN ({', '.join(['%s'] * len(touched))})",
                touched,
            )


def upsert_rows(
    model, columns: tuple[str, ...], rows: list[tuple], *, conflict, update: str
) -> None:
    """INSERT … ON CONFLICT (``conflict``) DO UPDATE SET ``update`` (``t`` is the row,
    ``excluded`` the new one), or DO NOTHING when ``update`` is empty; in chunks."""
    if not rows:
        return
    table = _q(model._meta.db_table)
    action = f"DO UPDATE SET {update}" if update else "DO NOTHING"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _CHUNK):
            chunk = rows[start : start + _CHUNK]
            values = ", ".join("(" + ", ".join(["%s"] * len(columns)) + ")" for _ in chunk)
            cursor.execute(
                f"INSERT INTO {table} AS t ({', '.join(_q(c) for c in columns)}) "  # noqa: S608
                f"VALUES {values} ON CONFLICT ({', '.join(conflict)}) {action}",
                [value for row in chunk for value in row],
            )


def fold_stragglers(*, older_than_seconds: int = 120, limit: int = 5000) -> int:
    """Fold failed calls a failed fold left without a group; returns how many."""
    cutoff = timezone.now() - timedelta(seconds=older_than_seconds)
    since = cutoff - timedelta(days=settings.CALL_LOG_RETENTION_DAYS)
    calls = list(
        ApiCall.objects.filter(
            outcome="failed", group__isnull=True, started_at__lt=cutoff, started_at__gte=since
        ).only(
            "id",
            "account_id",
            "provider",
            "operation",
            "credential_fingerprint",
            "status",
            "started_at",
            "outcome",
            "problem_kind",
            "problem_title",
            "problem_type_uri",
            "problem_code",
            "problem_docs_url",
            "problem_retryable",
            "subject_type",
            "subject_id",
        )[:limit]
    )
    fold_failures(calls)
    return len(calls)


# --- what people do with a group ----------------------------------------------------------
STATE_ACTIONS = {
    "resolve": GroupState.RESOLVED,
    "ignore": GroupState.IGNORED,
    "reopen": GroupState.ONGOING,
}


class GroupStateError(ValueError):
    """The requested change does not apply to the group as it is now."""


def group_set_state(*, group: ErrorGroup, action: str, note: str = "", actor=None) -> ErrorGroup:
    """Resolve, ignore or reopen ``group``, recording who did it and why.

    A resolved group that happens again (an occurrence after ``resolved_at``) becomes
    ``regressed`` when the next failure is folded in.
    """
    state = STATE_ACTIONS.get(action)
    if state is None:
        raise GroupStateError(f"unknown action {action!r}")
    if action == "reopen" and group.state not in (GroupState.RESOLVED, GroupState.IGNORED):
        raise GroupStateError("only a resolved or ignored group can be reopened")
    now = timezone.now()
    with transaction.atomic():
        fields = {"state": state, "state_changed_at": now}
        if state == GroupState.RESOLVED:
            fields["resolved_at"] = now
        ErrorGroup.objects.filter(pk=group.pk).update(**fields)
        ErrorGroupNote.objects.create(
            group=group, action=action, note=note.strip()[:2000], author=_user_or_none(actor)
        )
    group.refresh_from_db()
    return group


def _user_or_none(actor):
    return actor if getattr(actor, "pk", None) else None

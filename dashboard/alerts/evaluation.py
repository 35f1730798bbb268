"""What fires now: one function per rule kind, each returning :class:`Firing` rows.

Every read goes through the other apps' selectors and is bounded by a time window or
an index (error groups and their hourly buckets, not the raw call log), so a pass
costs the same over a million calls as over a thousand. Sentences name the account
and provider and never carry a secret, a payload or a customer's data: the most they
say about a key is its fingerprint.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.urls import reverse

from dashboard.accounts import selectors as accounts
from dashboard.alerts.models import AlertRule
from dashboard.alerts.rules import KINDS, OCCURRENCE_LOOKBACK_MINUTES
from dashboard.calls import group_selectors
from dashboard.calls import selectors as calls
from dashboard.calls.models import ErrorGroup, GroupState
from dashboard.events import selectors as events

# One-off occurrences all share this window: "once ever" per rule and subject.
ONCE = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Firing:
    subject_key: str
    sentence: str
    link: str
    account_id: int | None = None
    provider: str = ""
    group_id: int | None = None


def window_start(rule: AlertRule, now: datetime) -> datetime:
    """The throttle window ``now`` falls in for a lasting condition; ONCE otherwise."""
    if not KINDS[rule.kind].lasting:
        return ONCE
    seconds = int(rule.params.get("throttle_minutes", 60)) * 60
    epoch = int(now.timestamp())
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=UTC)


def _lookback(now: datetime) -> datetime:
    return now - timedelta(minutes=OCCURRENCE_LOOKBACK_MINUTES)


def _accepts(rule: AlertRule, *, provider: str = "", account_id: int | None = None) -> bool:
    if rule.provider and provider != rule.provider:
        return False
    return not (rule.account_id and account_id != rule.account_id)


# --- error groups -----------------------------------------------------------------------
def _groups(
    rule: AlertRule, groups: list[ErrorGroup], sentence: Callable, key: Callable
) -> list[Firing]:
    """Firings for ``groups``, one per group, on the group's most recent account (or
    the rule's account when it names one)."""
    if not groups:
        return []
    accounts_of = group_selectors.group_accounts([g.pk for g in groups])
    firings = []
    for group in groups:
        rows = accounts_of.get(group.pk, [])
        if rule.account_id:
            rows = [r for r in rows if r["account_id"] == rule.account_id]
            if not rows:
                continue
        account = rows[0] if rows else {"account_id": None, "account__name": "no account"}
        more = f" (and {len(rows) - 1} more accounts)" if len(rows) > 1 else ""
        firings.append(
            Firing(
                subject_key=key(group),
                sentence=sentence(group, account["account__name"] + more),
                link=reverse("calls:group", args=[group.pk]),
                account_id=account["account_id"],
                provider=group.provider,
                group_id=group.pk,
            )
        )
    return firings


def _group_queryset(rule: AlertRule):
    qs = group_selectors.filtered_groups(
        group_selectors.GroupFilters(provider=rule.provider, account=rule.account_id)
    )
    if rule.error_kind:
        qs = qs.filter(problem_kind=rule.error_kind)
    # Only what a sentence and a link need: the wide problem columns stay unread.
    return (
        qs.select_related(None)
        .exclude(state=GroupState.IGNORED)
        .only("id", "provider", "operation", "title", "state", "regressed_at")
    )


def _new_group(rule: AlertRule, now: datetime) -> list[Firing]:
    groups = list(_group_queryset(rule).filter(first_seen__gte=_lookback(now))[:500])

    def sentence(g, account):
        return f"New error on {account} ({g.provider}): {g.operation} failed with “{g.title}”."

    return _groups(rule, groups, sentence, lambda g: f"group:{g.pk}")


def _regressed_group(rule: AlertRule, now: datetime) -> list[Firing]:
    groups = list(
        _group_queryset(rule).filter(state=GroupState.REGRESSED, regressed_at__gte=_lookback(now))[
            :500
        ]
    )

    def sentence(g, account):
        return (
            f"Error came back on {account} ({g.provider}): {g.operation} fails again "
            f"with “{g.title}”."
        )

    # A group can regress again after a later resolve: each regression is its own.
    return _groups(
        rule,
        groups,
        sentence,
        lambda g: f"group:{g.pk}:regressed:{int(g.regressed_at.timestamp())}",
    )


def _escalating_group(rule: AlertRule, now: datetime) -> list[Firing]:
    threshold, minutes = rule.params["count"], rule.params["minutes"]
    # Hourly buckets: a window of M minutes reads the buckets it touches, so it may
    # count up to an hour more than M minutes (said in the sentence as "about").
    counts = calls.bucket_counts_since(now - timedelta(minutes=minutes))
    over = {gid: n for gid, n in counts.items() if n > threshold}
    if not over:
        return []
    groups = list(_group_queryset(rule).filter(pk__in=list(over)[:2000]))

    def sentence(g, account):
        return (
            f"Error escalating on {account} ({g.provider}): “{g.title}” happened about "
            f"{over[g.pk]} times in the last {minutes} min (threshold {threshold})."
        )

    return _groups(rule, groups, sentence, lambda g: f"group:{g.pk}")


# --- accounts ---------------------------------------------------------------------------
def _account_link(account_id: int) -> str:
    return reverse("accounts:detail", args=[account_id])


def _failure_rate(rule: AlertRule, now: datetime) -> list[Firing]:
    percent, minutes, min_calls = (rule.params[k] for k in ("percent", "minutes", "min_calls"))
    counts = calls.account_call_counts(since=now - timedelta(minutes=minutes))
    firings = []
    for account in accounts.account_list().filter(pk__in=list(counts)):
        total, failed = counts[account.pk]
        if not _accepts(rule, provider=account.provider, account_id=account.pk):
            continue
        rate = 100 * failed / total
        if total >= min_calls and rate > percent:
            firings.append(
                Firing(
                    f"account:{account.pk}",
                    f"{account.name} ({account.provider}): {rate:.0f} % of calls failed in the "
                    f"last {minutes} min ({failed} of {total}; threshold {percent} %).",
                    reverse("calls:list") + f"?account={account.pk}&outcome=failed",
                    account.pk,
                    account.provider,
                )
            )
    return firings


def _check_failing(rule: AlertRule, now: datetime) -> list[Firing]:
    times = rule.params["times"]
    firings = []
    for account, statuses in accounts.latest_check_statuses(limit=times).values():
        if not _accepts(rule, provider=account.provider, account_id=account.pk):
            continue
        if len(statuses) == times and all(s == "failed" for s in statuses):
            firings.append(
                Firing(
                    f"account:{account.pk}",
                    f"{account.name} ({account.provider}): the connection check failed "
                    f"{times} times in a row.",
                    _account_link(account.pk),
                    account.pk,
                    account.provider,
                )
            )
    return firings


# --- events -----------------------------------------------------------------------------
def _outbox_stale(rule: AlertRule, now: datetime) -> list[Firing]:
    minutes = rule.params["minutes"]
    firings = []
    for row in events.outbox_pending_by_account():
        if not _accepts(rule, provider=row["provider"], account_id=row["account_id"]):
            continue
        age = (now - row["oldest"]).total_seconds() / 60
        if age > minutes:
            firings.append(
                Firing(
                    f"account:{row['account_id']}",
                    f"{row['account__name']} ({row['provider']}): {row['depth']} events wait in "
                    f"the outbox, the oldest for {age:.0f} min (threshold {minutes} min).",
                    reverse("events:index") + f"?account={row['account_id']}&status=queued",
                    row["account_id"],
                    row["provider"],
                )
            )
    return firings


def _events_held(rule: AlertRule, now: datetime) -> list[Firing]:
    minutes = rule.params["minutes"]
    firings = []
    for row in events.events_needing_a_person(since=now - timedelta(minutes=minutes)):
        if not _accepts(rule, provider=row["provider"], account_id=row["account_id"]):
            continue
        firings.append(
            Firing(
                f"account:{row['account_id']}",
                f"{row['account__name']} ({row['provider']}): {row['count']} events failed "
                f"for good in the last {minutes} min and need a person.",
                reverse("events:failures") + f"?account={row['account_id']}",
                row["account_id"],
                row["provider"],
            )
        )
    return firings


# --- keys -------------------------------------------------------------------------------
def _key_age(rule: AlertRule, now: datetime) -> list[Firing]:
    days = rule.params["days"]
    firings = []
    for credential in accounts.credentials_due_for_rotation(days):
        account = credential.account
        if not _accepts(rule, provider=account.provider, account_id=account.pk):
            continue
        age = (now - credential.created_at).days
        firings.append(
            Firing(
                f"credential:{credential.pk}",
                f"{account.name} ({account.provider}): key {credential.fingerprint} is {age} "
                f"days old, past the {days}-day rotation reminder.",
                reverse("accounts:rotate", args=[account.pk]),
                account.pk,
                account.provider,
            )
        )
    return firings


def _rotation_failed(rule: AlertRule, now: datetime) -> list[Firing]:
    firings = []
    for check in accounts.failed_verifications_since(_lookback(now)):
        account = check.account
        if not _accepts(rule, provider=account.provider, account_id=account.pk):
            continue
        kind = (check.problem or {}).get("kind", "an error")
        firings.append(
            Firing(
                f"check:{check.pk}",
                f"{account.name} ({account.provider}): the new key {check.credential.fingerprint} "
                f"failed verification ({kind}); the current key stays in use.",
                reverse("accounts:rotate", args=[account.pk]),
                account.pk,
                account.provider,
            )
        )
    return firings


def _overlap_ending(rule: AlertRule, now: datetime) -> list[Firing]:
    hours, used_minutes = rule.params["hours"], rule.params["used_minutes"]
    used_since = now - timedelta(minutes=used_minutes)
    firings = []
    for credential in accounts.overlap_windows_ending(before=now + timedelta(hours=hours)):
        account = credential.account
        if not _accepts(rule, provider=account.provider, account_id=account.pk):
            continue
        if credential.last_used is None or credential.last_used < used_since:
            continue
        left = (credential.previous_until - now).total_seconds() / 60
        firings.append(
            Firing(
                f"credential:{credential.pk}:{int(credential.previous_until.timestamp())}",
                f"{account.name} ({account.provider}): the old key {credential.fingerprint} "
                f"stops working in {left:.0f} min but still served calls in the last "
                f"{used_minutes} min.",
                _account_link(account.pk),
                account.pk,
                account.provider,
            )
        )
    return firings


EVALUATORS: dict[str, Callable[[AlertRule, datetime], list[Firing]]] = {
    "new_group": _new_group,
    "regressed_group": _regressed_group,
    "escalating_group": _escalating_group,
    "failure_rate": _failure_rate,
    "check_failing": _check_failing,
    "outbox_stale": _outbox_stale,
    "events_held": _events_held,
    "key_age": _key_age,
    "rotation_failed": _rotation_failed,
    "overlap_ending": _overlap_ending,
}
assert set(EVALUATORS) == set(KINDS), "every rule kind needs an evaluator"


def firings_for(rule: AlertRule, *, now: datetime) -> list[Firing]:
    return EVALUATORS[rule.kind](rule, now)

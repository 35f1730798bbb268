"""Looking customers up across accounts, refreshing and editing one profile, browsing,
and the access log.

Provider behaviour comes from each provider's profiles adapter
(``integrations/<key>/profiles.py``); this module names no provider. Look-up results
are work rows: *claimed* by a conditional UPDATE when a task runs them, *re-queued* by
the sweeper (``dashboard/profiles/sweeper.py``) when their task was lost, and given up
after ``LOOKUP_MAX_ATTEMPTS`` claims.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from dashboard.accounts.models import ConnectedAccount
from dashboard.accounts.services import NoActiveCredential, provider_client
from dashboard.calls.context import call_context
from dashboard.core.nesting import nesting_refusal
from dashboard.core.queueing import attempts_left, claim, enqueue_on_commit
from dashboard.profiles.cache import cache_lookup_ids, cache_upsert
from dashboard.profiles.models import (
    OPEN_STATUSES,
    AccessAction,
    LookupRequest,
    LookupResult,
    ProfileAccess,
    ResultStatus,
)
from dashboard.profiles.query import DIRECT, LINK, Query, adapter_for, plan_for
from integrations import errors
from integrations.errors import PayloadError
from integrations.profiles import NotSupported, Refused
from integrations.provider import Capability, SettingsError

LOOKUP_TASK = "profiles.lookup"
WAITING_NOTE = "Waits for another provider to find a key this one can look up."
NO_LINK_NOTE = "No other provider found a key this one can look up."
# Claims of one look-up result before it is given up (a worker dying on it each time).
LOOKUP_MAX_ATTEMPTS = 5


class ProfileInputError(ValueError):
    """Input refused before anything was sent; ``field`` names the offending value."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def subject_key(value: str) -> str:
    """The ApiCall ``subject_id`` for calls made about ``value`` (a profile id, an
    email, a customer id): calls for one customer are listed by these keys."""
    return str(value)[:64]


def access_record(*, user, action: str, subject: str, account=None) -> ProfileAccess:
    return ProfileAccess.objects.create(
        user=user if getattr(user, "is_authenticated", False) else None,
        action=action,
        subject=str(subject)[:300],
        account=account,
    )


def access_record_call_view(*, user, call, subject: str) -> ProfileAccess:
    """The access-log row for opening a call-log entry that carries a customer's data
    (registered with ``dashboard.calls.pii``)."""
    return access_record(
        user=user,
        action=AccessAction.VIEW,
        subject=f"call {call.pk}: {subject}",
        account=call.account,
    )


def lookup_accounts() -> list[ConnectedAccount]:
    accounts = ConnectedAccount.objects.filter(is_enabled=True).order_by("name")
    return [
        a
        for a in accounts
        if a.provider_class.can(Capability.PROFILE_LOOKUP) and adapter_for(a) is not None
    ]


@transaction.atomic
def lookup_start(*, query: Query, actor=None) -> LookupRequest:
    """A look-up with one result per enabled account that can look profiles up.

    Accounts that can search this kind of query get a task (after commit); those that
    need a key another provider finds wait for it; the rest are marked skipped.
    """
    request = LookupRequest.objects.create(query=query.value, kind=query.kind, requested_by=actor)
    queued: list[int] = []
    for account in lookup_accounts():
        plan = plan_for(account.provider, query.kind)
        if plan == DIRECT and not _searchable_now(account, query):
            plan = LINK
        if plan == DIRECT:
            result = LookupResult.objects.create(
                request=request, account=account, matching=query.kind
            )
            queued.append(result.pk)
        elif plan == LINK:
            LookupResult.objects.create(
                request=request,
                account=account,
                status=ResultStatus.WAITING,
                note=WAITING_NOTE,
            )
        else:
            LookupResult.objects.create(
                request=request,
                account=account,
                status=ResultStatus.SKIPPED,
                note=plan,
                finished_at=timezone.now(),
            )
    access_record(user=actor, action=AccessAction.SEARCH, subject=query.value)
    for pk in queued:
        enqueue_on_commit(LOOKUP_TASK, pk)
    if not queued:
        _release_waiting(request)
    return request


def _searchable_now(account: ConnectedAccount, query: Query) -> bool:
    """A provider that answers some kinds only through the local cache is asked
    directly when the cache knows the customer; otherwise it waits for a linked key."""
    if query.kind in adapter_for(account).cache_searched_kinds:
        return bool(cache_lookup_ids(account=account, field=query.kind, value=query.value))
    return True


def lookup_result_run(*, result_id: int, retrying: bool = False) -> LookupResult:
    """Run one account's look-up. Idempotent: only a pending result is claimed
    (``retrying``: also a running one, the row this task's failed run had claimed)."""
    claimable = (
        (ResultStatus.PENDING, ResultStatus.RUNNING) if retrying else (ResultStatus.PENDING,)
    )
    # A redelivered or re-queued task finds the row claimed and does nothing.
    claimed = claim(
        LookupResult.objects.filter(pk=result_id, status__in=claimable),
        status=ResultStatus.RUNNING,
        attempts=F("attempts") + 1,
    )
    result = LookupResult.objects.select_related("request", "account").get(pk=result_id)
    if not claimed:
        return result
    request = result.request
    kind, value = request.kind, request.query
    if result.linked_key:
        kind, _, value = result.linked_key.partition(":")
    outcome: dict[str, Any] = {}
    if not attempts_left(result.attempts - 1, cap=LOOKUP_MAX_ATTEMPTS):
        outcome = {"status": ResultStatus.FAILED, "problem": _gave_up(result)}
    else:
        outcome = _look_up(result.account, kind, value)
    now = timezone.now()
    if outcome.get("profiles"):
        cache_upsert(account=result.account, profiles=outcome["profiles"], fetched_at=now)
    with transaction.atomic():
        result.status = outcome["status"]
        result.profiles = outcome.get("profiles", [])
        result.problem = outcome.get("problem")
        if outcome.get("matching") and not result.linked_key:
            result.matching = outcome["matching"]
        result.fetched_at = now
        result.finished_at = now
        result.save()
        _release_waiting(request)
    return result


def _gave_up(result: LookupResult) -> dict[str, Any]:
    detail = f"Gave up after {result.attempts - 1} attempts that each stopped before finishing."
    return errors.Problem.build(result.account.provider, errors.UNKNOWN, detail=detail).to_dict()


def _look_up(account: ConnectedAccount, kind: str, value: str) -> dict[str, Any]:
    """The outcome of one account's look-up: status, and profiles or a problem."""
    with call_context(subject_type="profile", subject_id=subject_key(value)):
        try:
            profiles, matching = lookup_in_account(account, kind, value)
        except errors.AmbiguousMatch as exc:
            return {"status": ResultStatus.AMBIGUOUS, "problem": exc.problem.to_dict()}
        except errors.NotFound:
            return {"status": ResultStatus.NOT_FOUND}
        except errors.ProviderError as exc:
            return {"status": ResultStatus.FAILED, "problem": exc.problem.to_dict()}
        except (NoActiveCredential, SettingsError, PayloadError, NotSupported) as exc:
            problem = errors.Problem.build(account.provider, errors.CONFIGURATION, detail=str(exc))
            return {"status": ResultStatus.FAILED, "problem": problem.to_dict()}
    return {
        "status": ResultStatus.FOUND if profiles else ResultStatus.NOT_FOUND,
        "profiles": profiles,
        "matching": matching,
    }


def lookup_in_account(account: ConnectedAccount, kind: str, value: str) -> tuple[list[dict], str]:
    """(normalized profiles, how they were matched) from one account.

    Raises ProviderError, PayloadError, or NotSupported for a provider without look-up.
    """
    adapter = adapter_for(account)
    if adapter is None:
        raise NotSupported(f"{account.provider_label} cannot look profiles up")
    client = provider_client(account)
    found = adapter.look_up(
        client,
        kind,
        value,
        cached_ids=lambda field, v: cache_lookup_ids(account=account, field=field, value=v),
    )
    return found.profiles, found.matching


def _release_waiting(request: LookupRequest) -> None:
    """Hand waiting results a key found by a finished one, or close them when no
    open result is left that could still find one."""
    results = list(LookupResult.objects.filter(request=request).select_related("account"))
    waiting = [r for r in results if r.status == ResultStatus.WAITING]
    if not waiting:
        return
    keys: list[tuple[str, str, str]] = []  # (key name, value, account name)
    for r in results:
        if r.status != ResultStatus.FOUND:
            continue
        for profile in r.profiles:
            for name in ("customer_id", "email"):
                if profile.get(name):
                    keys.append((name, str(profile[name]), r.account.name))
    for r in waiting:
        link_keys = adapter_for(r.account).link_keys
        usable = [k for k in keys if k[0] in link_keys]
        usable.sort(key=lambda k: link_keys.index(k[0]))
        if usable:
            name, value, source = usable[0]
            # Claimed: two finishing results may both try to release this one.
            released = claim(
                LookupResult.objects.filter(pk=r.pk, status=ResultStatus.WAITING),
                status=ResultStatus.PENDING,
                linked_key=f"{name}:{value}",
                linked_from=source,
                matching=f"{name} {value} (linked from {source})",
                note="",
            )
            if released:
                enqueue_on_commit(LOOKUP_TASK, r.pk)
    still_open = LookupResult.objects.filter(
        request=request, status__in=(ResultStatus.PENDING, ResultStatus.RUNNING)
    ).exists()
    if not still_open:
        LookupResult.objects.filter(request=request, status=ResultStatus.WAITING).update(
            status=ResultStatus.NOT_FOUND,
            note=NO_LINK_NOTE,
            finished_at=timezone.now(),
        )


def lookup_result_retry(*, result: LookupResult) -> bool:
    """Queue a failed result again, with a fresh count of attempts. ``False`` when it
    is no longer failed (another click, or the sweeper, got there first)."""
    retried = claim(
        LookupResult.objects.filter(pk=result.pk, status=ResultStatus.FAILED),
        status=ResultStatus.PENDING,
        problem=None,
        finished_at=None,
        attempts=0,
    )
    if retried:
        # Results that gave up waiting for a key this one may now find wait again.
        LookupResult.objects.filter(
            request_id=result.request_id, status=ResultStatus.NOT_FOUND, note=NO_LINK_NOTE
        ).update(status=ResultStatus.WAITING, note=WAITING_NOTE, finished_at=None)
        enqueue_on_commit(LOOKUP_TASK, result.pk)
    return retried


def lookup_is_done(request: LookupRequest) -> bool:
    return not request.results.filter(status__in=OPEN_STATUSES).exists()


# --- one profile ------------------------------------------------------------------


def _page_client(account: ConnectedAccount):
    """The account's client for a page's own call; an account that may not be called
    (disabled, no key) is refused with its sentence, as bad input is."""
    try:
        return provider_client(account)
    except NoActiveCredential as exc:
        raise ProfileInputError("account", str(exc)) from None


def profile_fetch(*, account: ConnectedAccount, profile_id: str) -> dict[str, Any] | None:
    """The live profile from the provider (and into the cache), or None when gone.

    Raises ProviderError when the provider fails, ProfileInputError when the account
    holds no profiles.
    """
    adapter = adapter_for(account)
    if adapter is None or not account.provider_class.can(Capability.PROFILE_LOOKUP):
        raise ProfileInputError("account", "this provider holds no profiles")
    client = _page_client(account)
    with call_context(subject_type="profile", subject_id=subject_key(profile_id)):
        try:
            found = adapter.fetch(client, profile_id)
        except errors.NotFound:
            found = None
        except PayloadError:
            # An id the provider's own rules refuse names no profile.
            found = None
    if found is None:
        return None
    cache_upsert(account=account, profiles=[found], fetched_at=timezone.now())
    return found


# --- edit ---------------------------------------------------------------------------


def parse_profile_value(raw: str) -> Any:
    """Numbers, true/false and JSON lists/objects as such; anything else as text.

    Raises ProfileInputError for JSON nested past what decoding can take (#15)."""
    text = (raw or "").strip()
    if text in ("true", "false"):
        return text == "true"
    too_deep = nesting_refusal(text, subject="The value is")
    if too_deep:
        raise ProfileInputError("value", too_deep)
    if text[:1] in ("[", "{") or text.lstrip("-").replace(".", "", 1).isdigit():
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def profile_set_attribute(
    *, account: ConnectedAccount, profile_id: str, name: str, value: str, actor=None
) -> dict[str, Any]:
    """Create or update one attribute of one profile, validated before sending.

    Returns ``{"ok", "failed": [{"identifier", "error_message"}], "duplicate",
    "duplicate_key", "profile"}``. Raises ProfileInputError for values the provider's
    rules refuse and ProviderError when the provider fails.
    """
    parsed = parse_profile_value(value)
    name = (name or "").strip()
    adapter = adapter_for(account)
    with call_context(subject_type="profile", subject_id=subject_key(profile_id)):
        client = _page_client(account)
        if adapter is None or not account.provider_class.can(Capability.PROFILE_WRITE):
            raise ProfileInputError("account", f"{account.provider_label} profiles are read-only")
        try:
            written = adapter.set_attribute(client, profile_id, name, parsed)
        except Refused as exc:
            raise ProfileInputError(exc.field, exc.message) from None
        except PayloadError as exc:  # about the profile id
            raise ProfileInputError("profile", str(exc)) from None
    outcome = written.as_outcome()
    access_record(user=actor, action=AccessAction.EDIT, subject=profile_id, account=account)
    if outcome["ok"]:
        outcome["profile"] = profile_fetch(account=account, profile_id=profile_id)
    return outcome


# --- browse -------------------------------------------------------------------------


def browse_page(
    *, account: ConnectedAccount, cursor: str = "", filters: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One page of the account's profiles straight from the provider (and into the
    cache): ``{"profiles", "cursor", "next_cursor"}``. Raises ProviderError."""
    adapter = adapter_for(account)
    if adapter is None or not account.provider_class.can(Capability.PROFILE_BROWSE):
        raise ProfileInputError("account", f"{account.provider_label} cannot list profiles")
    try:
        filters = adapter.clean_filters(filters or {})
    except PayloadError as exc:
        raise ProfileInputError(exc.field, exc.message) from None
    client = _page_client(account)
    with call_context(subject_type="profile_browse", subject_id=account.pk):
        try:
            page = adapter.browse_page(client, cursor, filters)
        except PayloadError as exc:  # a cursor the provider's rules refuse
            raise ProfileInputError("cursor", str(exc)) from None
        cache_upsert(account=account, profiles=page.profiles, fetched_at=timezone.now())
    return {"profiles": page.profiles, "cursor": cursor, "next_cursor": page.next_cursor}

"""Looking customers up across accounts, refreshing and editing one profile, and the
access log."""

from __future__ import annotations

import json
from typing import Any

from django.db import transaction
from django.utils import timezone

from dashboard.accounts.models import ConnectedAccount
from dashboard.accounts.services import NoActiveCredential, provider_client
from dashboard.calls.context import call_context
from dashboard.core.queueing import enqueue_on_commit
from dashboard.profiles import normalize
from dashboard.profiles.cache import cache_lookup_ids, cache_upsert
from dashboard.profiles.models import (
    OPEN_STATUSES,
    AccessAction,
    LookupRequest,
    LookupResult,
    ProfileAccess,
    QueryKind,
    ResultStatus,
)
from dashboard.profiles.query import DIRECT, LINK, LINK_KEYS, Query, plan_for
from integrations import errors
from integrations.provider import Capability


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
    return [a for a in accounts if a.provider_class.can(Capability.PROFILE_LOOKUP)]


@transaction.atomic
def lookup_start(*, query: Query, actor=None) -> LookupRequest:
    """A look-up with one result per enabled account that can look profiles up.

    Accounts that can search this kind of query get a task (after commit); those that
    need a key another provider finds wait for it; the rest are marked skipped.
    """
    from dashboard.profiles.tasks import run_lookup_result

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
                note="Waits for another provider to find a key this one can look up.",
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
        enqueue_on_commit(run_lookup_result, pk)
    if not queued:
        _release_waiting(request)
    return request


def _searchable_now(account: ConnectedAccount, query: Query) -> bool:
    """Octy has no search by email or phone: only when the local cache knows the
    customer can it be asked directly; otherwise it waits for a linked customer_id."""
    if account.provider == "octy" and query.kind in (QueryKind.EMAIL, QueryKind.PHONE):
        return bool(cache_lookup_ids(account=account, field=query.kind, value=query.value))
    return True


def lookup_result_run(*, result_id: int, reclaim: bool = False) -> LookupResult:
    """Run one account's look-up. Idempotent: only a pending result is claimed
    (``reclaim``: also a running one, when this is the retry of a run that failed)."""
    # Claimed with a conditional UPDATE: a redelivered task finds it taken.
    claimable = (ResultStatus.PENDING, ResultStatus.RUNNING) if reclaim else (ResultStatus.PENDING,)
    claimed = LookupResult.objects.filter(pk=result_id, status__in=claimable).update(
        status=ResultStatus.RUNNING
    )
    result = LookupResult.objects.select_related("request", "account").get(pk=result_id)
    if not claimed:
        return result
    request = result.request
    kind, value = request.kind, request.query
    if result.linked_key:
        kind, _, value = result.linked_key.partition(":")
    outcome: dict[str, Any] = {}
    with call_context(subject_type="profile", subject_id=subject_key(value)):
        try:
            profiles, matching = lookup_in_account(result.account, kind, value)
        except errors.AmbiguousMatch as exc:
            outcome = {"status": ResultStatus.AMBIGUOUS, "problem": exc.problem.to_dict()}
        except errors.NotFound:
            outcome = {"status": ResultStatus.NOT_FOUND}
        except errors.ProviderError as exc:
            outcome = {"status": ResultStatus.FAILED, "problem": exc.problem.to_dict()}
        except (NoActiveCredential, ValueError) as exc:
            problem = errors.Problem.build(
                result.account.provider, errors.CONFIGURATION, detail=str(exc)
            )
            outcome = {"status": ResultStatus.FAILED, "problem": problem.to_dict()}
        else:
            outcome = {
                "status": ResultStatus.FOUND if profiles else ResultStatus.NOT_FOUND,
                "profiles": profiles,
                "matching": matching,
            }
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


def lookup_in_account(account: ConnectedAccount, kind: str, value: str) -> tuple[list[dict], str]:
    """(normalized profiles, how they were matched) from one account."""
    client = provider_client(account)
    if account.provider == "octy":
        if kind in (QueryKind.OCTY_ID, "customer_id"):
            # providers/octy.md: endpoints — GET profiles?ids=
            profiles = client.get_profiles([value])
            return [normalize.from_octy(p) for p in profiles], f"{kind} {value}"
        ids = cache_lookup_ids(account=account, field=kind, value=value)
        if not ids:
            return [], f"{kind} (not in the local cache: sync this account, or search by id)"
        profiles = client.get_profiles(ids[:100])
        return [normalize.from_octy(p) for p in profiles], f"{kind} via the local cache"
    if account.provider == "altcraft":
        # providers/altcraft.md: profile methods — get with the right `matching`.
        if kind == QueryKind.EMAIL:
            profile = client.get_profile("email", value)
        elif kind == QueryKind.PHONE:
            profile = client.get_profile("phone", value)
        elif kind == QueryKind.ALTCRAFT_ID:
            profile = client.get_profile("profile_id", value)
        else:
            profile = client.get_profile("custom", value, field_name="customer_id")
            kind = "customer_id"
        return [normalize.from_altcraft(profile)], f"{kind} {value}"
    if account.provider == "croct":
        # providers/croct.md: export — /export/user/{id}, 404 when unknown.
        user = client.export_user(value)
        return [normalize.from_croct(user)], f"Croct user id {value}"
    raise ValueError(f"{account.provider} cannot look profiles up")


def _release_waiting(request: LookupRequest) -> None:
    """Hand waiting results a key found by a finished one, or close them when no
    open result is left that could still find one."""
    from dashboard.profiles.tasks import run_lookup_result

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
        usable = [k for k in keys if k[0] in LINK_KEYS.get(r.account.provider, ())]
        usable.sort(key=lambda k: LINK_KEYS[r.account.provider].index(k[0]))
        if usable:
            name, value, source = usable[0]
            # Conditional: two finishing results may both try to release this one.
            updated = LookupResult.objects.filter(pk=r.pk, status=ResultStatus.WAITING).update(
                status=ResultStatus.PENDING,
                linked_key=f"{name}:{value}",
                linked_from=source,
                matching=f"{name} {value} (linked from {source})",
                note="",
            )
            if updated:
                enqueue_on_commit(run_lookup_result, r.pk)
    still_open = LookupResult.objects.filter(
        request=request, status__in=(ResultStatus.PENDING, ResultStatus.RUNNING)
    ).exists()
    if not still_open:
        LookupResult.objects.filter(request=request, status=ResultStatus.WAITING).update(
            status=ResultStatus.NOT_FOUND,
            note="No other provider found a key this one can look up.",
            finished_at=timezone.now(),
        )


def lookup_is_done(request: LookupRequest) -> bool:
    return not request.results.filter(status__in=OPEN_STATUSES).exists()


# --- one profile ------------------------------------------------------------------


def profile_fetch(*, account: ConnectedAccount, profile_id: str) -> dict[str, Any] | None:
    """The live profile from the provider (and into the cache), or None when gone.

    Raises ProviderError when the provider fails.
    """
    client = provider_client(account)
    with call_context(subject_type="profile", subject_id=subject_key(profile_id)):
        try:
            if account.provider == "octy":
                found = [normalize.from_octy(p) for p in client.get_profiles([profile_id])]
            elif account.provider == "altcraft":
                found = [normalize.from_altcraft(client.get_profile("profile_id", profile_id))]
            elif account.provider == "croct":
                found = [normalize.from_croct(client.export_user(profile_id))]
            else:
                raise ProfileInputError("account", "this provider holds no profiles")
        except errors.NotFound:
            found = []
        except ProfileInputError:
            raise
        except ValueError:
            # An id the provider's own rules refuse (PayloadError) names no profile.
            found = []
    if not found:
        return None
    cache_upsert(account=account, profiles=found[:1], fetched_at=timezone.now())
    return found[0]


# --- edit ---------------------------------------------------------------------------


def _parse_value(raw: str) -> Any:
    """Numbers, true/false and JSON lists/objects as such; anything else as text."""
    text = (raw or "").strip()
    if text in ("true", "false"):
        return text == "true"
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
    parsed = _parse_value(value)
    name = (name or "").strip()
    outcome: dict[str, Any] = {"ok": True, "failed": [], "duplicate": False, "duplicate_key": ""}
    with call_context(subject_type="profile", subject_id=subject_key(profile_id)):
        client = provider_client(account)
        try:
            if account.provider == "octy":
                outcome.update(_octy_set(client, profile_id, name, parsed))
            elif account.provider == "altcraft":
                outcome.update(_altcraft_set(client, profile_id, name, parsed))
            else:
                raise ProfileInputError(
                    "account", f"{account.provider_label} profiles are read-only"
                )
        except ProfileInputError:
            raise
        except ValueError as exc:  # a PayloadError about the profile id
            raise ProfileInputError("profile", str(exc)) from None
    access_record(user=actor, action=AccessAction.EDIT, subject=profile_id, account=account)
    if outcome["ok"]:
        outcome["profile"] = profile_fetch(account=account, profile_id=profile_id)
    return outcome


def _octy_set(client, profile_id: str, name: str, value: Any) -> dict[str, Any]:
    from integrations.octy import payloads as octy

    key = name.removeprefix("profile_data.")
    if not key:
        raise ProfileInputError("name", "is required")
    current = client.get_profiles([profile_id])
    if not current:
        raise ProfileInputError("profile", "Octy no longer has this profile")
    # profiles/update replaces profile_data as a whole: send it back with the change.
    data = {**current[0].profile_data, key: value}
    problem = octy.attributes_problem(data)
    if problem is not None:
        raise ProfileInputError("value", f"{problem[0] or key}: {problem[1]}")
    try:
        result = client.update_profiles([octy.ProfileUpdate(profile_id, profile_data=data)])
    except octy.PayloadError as exc:
        raise ProfileInputError(exc.field, str(exc)) from None
    failed = [{"identifier": f.identifier, "error_message": f.error_message} for f in result.failed]
    return {"ok": not failed, "failed": failed}


def _altcraft_set(client, profile_id: str, name: str, value: Any) -> dict[str, Any]:
    from integrations.altcraft.payloads import PayloadError, clean_data

    try:
        data = clean_data({name: value}, required=True)
        result = client.update_profile("profile_id", profile_id, data)
    except PayloadError as exc:
        raise ProfileInputError(exc.field, str(exc)) from None
    return {"ok": True, "duplicate": result.duplicate, "duplicate_key": result.duplicate_key or ""}


# --- browse -------------------------------------------------------------------------


def browse_page(
    *, account: ConnectedAccount, cursor: str = "", filters: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One page of the account's profiles straight from the provider (and into the
    cache): ``{"profiles", "cursor", "next_cursor"}``. Raises ProviderError."""
    from dashboard.profiles.jobs import JobInputError, clean_sync_filters

    try:
        filters = clean_sync_filters(account.provider, filters or {})
    except JobInputError as exc:
        raise ProfileInputError(exc.field, str(exc)) from None
    client = provider_client(account)
    with call_context(subject_type="profile_browse", subject_id=account.pk):
        try:
            return _browse(client, account, cursor, filters)
        except ProfileInputError:
            raise
        except ValueError as exc:  # a cursor the provider's rules refuse
            raise ProfileInputError("cursor", str(exc)) from None


def _browse(client, account: ConnectedAccount, cursor: str, filters: dict) -> dict[str, Any]:
    if account.provider == "octy":
        # providers/octy.md: pagination — header cursor; the exhausted 400 is the end.
        page = client.profiles_page(cursor or "0", **filters)
        profiles = [normalize.from_octy(p) for p in page.profiles]
        next_cursor = page.next_cursor
    elif account.provider == "altcraft":
        # providers/altcraft.md: list — from_id is the previous page's last id.
        page = client.list_profiles(cursor or None, limit=50)
        profiles = [normalize.from_altcraft(p) for p in page.profiles]
        next_cursor = page.next_from_id
    else:
        raise ProfileInputError("account", f"{account.provider_label} cannot list profiles")
    cache_upsert(account=account, profiles=profiles, fetched_at=timezone.now())
    return {"profiles": profiles, "cursor": cursor, "next_cursor": next_cursor}

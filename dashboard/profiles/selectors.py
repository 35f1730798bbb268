"""Reads for the profile pages: the unified look-up view, one profile, the jobs and
the access log. Masking for staff without ``see_contact_details`` happens here, so a
template never holds a value the reader may not see."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from dashboard.calls.models import ApiCall
from dashboard.core.roles import perm
from dashboard.profiles import normalize
from dashboard.profiles.cache import cache_lookup_ids
from dashboard.profiles.models import (
    CachedProfile,
    ExportJob,
    LookupRequest,
    LookupResult,
    ProfileAccess,
    ProfileWork,
    ResultStatus,
    SyncJob,
)
from dashboard.profiles.query import adapter_for, profile_providers
from integrations import errors
from integrations.profiles import ProfilesAdapter
from integrations.provider import Capability


def can_see_contacts(user) -> bool:
    return user.has_perm(perm("see_contact_details"))


def is_stale(fetched_at: datetime | None, now: datetime | None = None) -> bool:
    if fetched_at is None:
        return True
    now = now or timezone.now()
    return now - fetched_at > timedelta(minutes=settings.PROFILES_STALE_AFTER_MINUTES)


@dataclass
class Source:
    account_name: str
    account_id: int
    provider: str
    profile_id: str
    value: Any
    fetched_at: datetime | None
    stale: bool


@dataclass
class MergedField:
    name: str
    sources: list[Source] = field(default_factory=list)

    @property
    def conflict(self) -> bool:
        """Two providers hold different non-empty values (compared case-blind)."""
        values = {str(s.value).strip().lower() for s in self.sources if s.value not in ("", None)}
        return len(values) > 1


@dataclass
class ResultView:
    result: LookupResult
    profiles: list[dict[str, Any]]
    stale: bool
    # What the provider suggests when several profiles matched.
    advice: list[str] = field(default_factory=list)
    # What was searched, always with its value ("email ada@example.com").
    searched: str = ""
    # Several matched: the ones the local cache knows (masked as needed).
    candidates: list[dict[str, Any]] = field(default_factory=list)
    # A failed card: one sentence to act on, and how long the provider asked to wait.
    failure: dict[str, Any] | None = None


# A failed card's sentence per problem kind: what happened and what to do about it.
FAILURE_SENTENCES = {
    errors.RATE_LIMITED: "{account} is refusing requests for now: too many were sent.",
    errors.AUTH: "{account} refused the console's key. Check the account's key (or rotate "
    "it) on the account page, then retry.",
    errors.TIMEOUT: "{account} did not answer in time. Retry in a moment.",
    errors.UNAVAILABLE: "{account} is unavailable right now. Retry in a moment.",
    errors.TRANSPORT: "The console could not reach {account}. Check the account's base URL, "
    "then retry.",
    errors.QUOTA: "{account}'s quota is used up. Retry once it resets.",
    errors.SUSPENDED: "{account} suspended this application: nothing is answered until the "
    "account is reactivated.",
}


def _failure(result: LookupResult) -> dict[str, Any]:
    problem = result.problem or {}
    kind = problem.get("kind") or errors.UNKNOWN
    account = result.account.name
    sentence = FAILURE_SENTENCES.get(kind, "{account} could not answer this look-up.")
    status = problem.get("status")
    code = str(problem.get("provider_code") or "")
    detail = str(problem.get("detail") or "")
    return {
        "title": errors.KIND_LABELS.get(kind, errors.KIND_LABELS[errors.UNKNOWN]),
        "sentence": sentence.format(account=account),
        "status": status,
        # A provider code that only repeats the HTTP status says nothing new.
        "code": "" if code == str(status) else code,
        "detail": detail,
        "retry_after": problem.get("retry_after"),
    }


def _searched(lookup: LookupRequest, result: LookupResult, query_shown: str) -> str:
    if result.linked_key:
        return result.matching
    return f"{lookup.get_kind_display().lower()} {query_shown}"


def _candidates(lookup: LookupRequest, result: LookupResult, show: bool) -> list[dict]:
    """The profiles an ambiguous search matched, as far as the local cache knows them."""
    ids = cache_lookup_ids(account=result.account, field=lookup.kind, value=lookup.query)
    rows = CachedProfile.objects.filter(account=result.account, profile_id__in=ids)
    return [r.data if show else normalize.masked(r.data) for r in rows[:20]]


def lookup_view(*, lookup: LookupRequest, user) -> dict[str, Any]:
    """Everything the look-up page shows: per-account results (masked as needed), the
    merged field table and whether anything is still running."""
    show = can_see_contacts(user)
    shown = lookup.query if show else normalize.mask_query(lookup.kind, lookup.query)
    now = timezone.now()
    rows: list[ResultView] = []
    merged = {name: MergedField(name) for name in normalize.MERGED_FIELDS}
    results = lookup.results.select_related("account").order_by("account__name", "id")
    for result in results:
        profiles = [p if show else normalize.masked(p) for p in result.profiles]
        stale = result.status == ResultStatus.FOUND and is_stale(result.fetched_at, now)
        view = ResultView(result, profiles, stale, searched=_searched(lookup, result, shown))
        if result.status == ResultStatus.AMBIGUOUS:
            if adapter_for(result.account) is not None:
                view.advice = adapter_for(result.account).advice_when_ambiguous(lookup.kind)
            view.candidates = _candidates(lookup, result, show)
        elif result.status == ResultStatus.FAILED:
            view.failure = _failure(result)
        rows.append(view)
        for profile in profiles:
            for name in normalize.MERGED_FIELDS:
                merged[name].sources.append(
                    Source(
                        account_name=result.account.name,
                        account_id=result.account_id,
                        provider=result.account.provider,
                        profile_id=profile.get("profile_id", ""),
                        value=profile.get(name, ""),
                        fetched_at=result.fetched_at,
                        stale=stale,
                    )
                )
    found = [r for r in rows if r.result.status == ResultStatus.FOUND]
    return {
        "lookup": lookup,
        "query_shown": shown,
        "rows": rows,
        "merged": [m for m in merged.values() if m.sources] if found else [],
        "conflicts": [m.name for m in merged.values() if m.conflict],
        "done": all(r.result.is_done for r in rows),
        "stale_after": settings.PROFILES_STALE_AFTER_MINUTES,
        "lookup_providers": lookup_provider_labels(),
    }


def lookup_provider_labels() -> str:
    """The providers an account must be on to be looked up in ("A, B or C")."""
    labels = [p.label for p in profile_providers(Capability.PROFILE_LOOKUP)]
    if len(labels) < 2:
        return "".join(labels)
    return ", ".join(labels[:-1]) + " or " + labels[-1]


def recent_lookups(*, user, limit: int = 10) -> list[LookupRequest]:
    return list(LookupRequest.objects.filter(requested_by=user)[:limit])


def cached_profile(*, account_id: int, profile_id: str) -> CachedProfile | None:
    return (
        CachedProfile.objects.select_related("account")
        .filter(account_id=account_id, profile_id=profile_id)
        .first()
    )


def profile_for_display(profile: dict[str, Any], *, user) -> dict[str, Any]:
    return profile if can_see_contacts(user) else normalize.masked(profile)


def customer_keys(profile: dict[str, Any], *, account) -> list[str]:
    """Every value calls or events for this customer may be filed under."""
    adapter = adapter_for(account) or ProfilesAdapter()
    return adapter.customer_keys(profile)


def calls_for_customer(keys: list[str], *, limit: int = 50) -> list[ApiCall]:
    """API calls made for this customer (look-ups, refreshes, edits), newest first."""
    if not keys:
        return []
    return list(
        ApiCall.objects.filter(subject_type="profile", subject_id__in=keys).select_related(
            "account"
        )[:limit]
    )


def calls_recorded(work: ProfileWork) -> bool:
    """Whether the call log holds the calls ``work``'s task made (or it made none
    that could be recorded: a row refused before any call, or long finished)."""
    if not work.is_done or not work.correlation_id:
        return work.is_done
    if (work.problem or {}).get("kind") == errors.CONFIGURATION:
        return True  # refused before calling
    if work.finished_at and timezone.now() - work.finished_at > timedelta(seconds=30):
        return True
    return ApiCall.objects.filter(correlation_id=work.correlation_id).exists()


def cached_total(*, account_id: int | None = None) -> int:
    rows = CachedProfile.objects.all()
    if account_id:
        rows = rows.filter(account_id=account_id)
    return rows.count()


def sync_jobs(*, account_id: int | None = None, limit: int = 10) -> list[SyncJob]:
    jobs = SyncJob.objects.select_related("account")
    if account_id:
        jobs = jobs.filter(account_id=account_id)
    return list(jobs[:limit])


def export_jobs(*, limit: int = 20) -> list[ExportJob]:
    return list(ExportJob.objects.select_related("account", "requested_by")[:limit])


def access_log(*, subject: str = "", limit: int = 100) -> list[ProfileAccess]:
    entries = ProfileAccess.objects.select_related("user", "account")
    if subject:
        entries = entries.filter(subject=subject)
    return list(entries[:limit])

"""The provider calls a profile page needs, run by a task on a work row.

Opening a profile that is not cached, refreshing it, setting an attribute and listing
a page of an account's profiles each write a :class:`ProfileWork` row and enqueue
``profiles.profile_work`` on commit; the page polls the row and shows the answer as it
arrives (as look-ups do), so a slow provider never holds a web thread. The task
*claims* the row with one conditional UPDATE, the profiles sweeper re-queues a row
whose message or worker was lost, and a row claimed ``PROFILE_WORK_MAX_ATTEMPTS``
times is given up with a sentence. Provider behaviour comes from the profiles
adapters through ``services``; this module names no provider.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from dashboard.accounts.models import ConnectedAccount
from dashboard.accounts.services import NoActiveCredential, provider_client
from dashboard.calls.context import call_context, new_correlation_id
from dashboard.core.queueing import attempts_left, claim, enqueue_on_commit
from dashboard.profiles import services
from dashboard.profiles.models import ProfileWork, WorkKind, WorkStatus
from dashboard.profiles.query import adapter_for
from dashboard.profiles.services import ProfileInputError, parse_profile_value
from integrations import errors
from integrations.errors import PayloadError
from integrations.provider import Capability, SettingsError

PROFILE_WORK_TASK = "profiles.profile_work"
# Claims of one row (a worker dying on it each time) before it is given up.
PROFILE_WORK_MAX_ATTEMPTS = 5


def _refuse_uncallable(account: ConnectedAccount) -> None:
    """A disabled account, or one without a key, is never called: said at once, with
    nothing queued (building the client opens no connection)."""
    try:
        provider_client(account)
    except NoActiveCredential as exc:
        raise ProfileInputError("account", str(exc)) from None


def _start(**fields: Any) -> ProfileWork:
    actor = fields.pop("actor", None)
    with transaction.atomic():
        work = ProfileWork.objects.create(
            correlation_id=new_correlation_id(),
            requested_by=actor if getattr(actor, "is_authenticated", False) else None,
            **fields,
        )
        enqueue_on_commit(PROFILE_WORK_TASK, work.pk)
    return work


def profile_fetch_start(*, account: ConnectedAccount, profile_id: str, actor=None) -> ProfileWork:
    """Queue fetching one profile (into the cache). Raises ProfileInputError when the
    account holds no profiles."""
    adapter = adapter_for(account)
    if adapter is None or not account.provider_class.can(Capability.PROFILE_LOOKUP):
        raise ProfileInputError("account", "this provider holds no profiles")
    _refuse_uncallable(account)
    return _start(kind=WorkKind.FETCH, account=account, profile_id=profile_id, actor=actor)


def profile_edit_start(
    *, account: ConnectedAccount, profile_id: str, name: str, value: str, actor=None
) -> ProfileWork:
    """Queue setting one attribute. Raises ProfileInputError for a read-only provider;
    what the provider's rules refuse comes back on the row as ``field_errors``."""
    adapter = adapter_for(account)
    if adapter is None or not account.provider_class.can(Capability.PROFILE_WRITE):
        raise ProfileInputError("account", f"{account.provider_label} profiles are read-only")
    _refuse_uncallable(account)
    # What can be refused without the provider (a value nested too deep to decode) is
    # refused here, at the field, before anything is queued (#15 finding 8).
    parse_profile_value(value)
    return _start(
        kind=WorkKind.EDIT,
        account=account,
        profile_id=profile_id,
        attribute=(name or "").strip(),
        value=value or "",
        actor=actor,
    )


def browse_start(
    *, account: ConnectedAccount, cursor: str = "", filters: dict | None = None, actor=None
) -> ProfileWork:
    """Queue one listing page. Raises ProfileInputError for an account that cannot
    list profiles or filters its provider refuses (checked here: no call needed)."""
    adapter = adapter_for(account)
    if adapter is None or not account.provider_class.can(Capability.PROFILE_BROWSE):
        raise ProfileInputError("account", f"{account.provider_label} cannot list profiles")
    try:
        cleaned = adapter.clean_filters(filters or {})
    except PayloadError as exc:
        raise ProfileInputError(exc.field, exc.message) from None
    _refuse_uncallable(account)
    return _start(
        kind=WorkKind.BROWSE, account=account, cursor=cursor, filters=cleaned, actor=actor
    )


# --- the task's side --------------------------------------------------------------------


def profile_work_run(*, work_id: int, retrying: bool = False) -> ProfileWork:
    """Make the row's provider call and store what the page shows. Idempotent: only a
    pending row is claimed (``retrying``: also the running one this task's failed run
    had claimed)."""
    claimable = (WorkStatus.PENDING, WorkStatus.RUNNING) if retrying else (WorkStatus.PENDING,)
    # A redelivered or re-queued task finds the row claimed and does nothing.
    claimed = claim(
        ProfileWork.objects.filter(pk=work_id, status__in=claimable),
        status=WorkStatus.RUNNING,
        attempts=F("attempts") + 1,
    )
    work = ProfileWork.objects.select_related("account", "requested_by").get(pk=work_id)
    if not claimed:
        return work
    if not attempts_left(work.attempts - 1, cap=PROFILE_WORK_MAX_ATTEMPTS):
        detail = f"Gave up after {work.attempts - 1} attempts that each stopped before finishing."
        problem = errors.Problem.build(work.account.provider, errors.UNKNOWN, detail=detail)
        return _finish(work, WorkStatus.FAILED, problem=problem.to_dict())
    with call_context(correlation_id=work.correlation_id):
        try:
            outcome, field_errors = _RUNNERS[work.kind](work)
        except errors.ProviderError as exc:
            problem = exc.problem.to_dict()
            return _finish(
                work, WorkStatus.FAILED, problem=problem, field_errors=_refused_fields(work, exc)
            )
        except ProfileInputError as exc:
            if work.kind == WorkKind.FETCH or exc.field == "account":
                return _finish(work, WorkStatus.FAILED, problem=_not_called(work, exc.message))
            return _finish(
                work, WorkStatus.FAILED, field_errors={_form_field(work, exc.field): exc.message}
            )
        except (NoActiveCredential, SettingsError) as exc:
            return _finish(work, WorkStatus.FAILED, problem=_not_called(work, str(exc)))
    return _finish(work, WorkStatus.DONE, outcome=outcome, field_errors=field_errors)


def _finish(
    work: ProfileWork,
    status: str,
    *,
    outcome: dict | None = None,
    problem: dict | None = None,
    field_errors: dict | None = None,
) -> ProfileWork:
    work.status = status
    work.outcome = outcome
    work.problem = problem
    work.field_errors = field_errors or {}
    work.finished_at = timezone.now()
    work.save(update_fields=["status", "outcome", "problem", "field_errors", "finished_at"])
    return work


def _form_field(work: ProfileWork, field: str) -> str:
    """The form field an input error belongs beside ("__all__": the form as a whole,
    e.g. a profile the provider no longer has)."""
    if work.kind == WorkKind.EDIT and field in ("name", "value"):
        return field
    if work.kind == WorkKind.EDIT and field not in ("profile", "cursor", "filters"):
        return "value"  # a provider's name for the value (data.email, tags…)
    return "__all__"


def _not_called(work: ProfileWork, sentence: str) -> dict[str, Any]:
    # A disabled account, or one without a key, is not called: say so.
    problem = errors.Problem.build(
        work.account.provider, errors.CONFIGURATION, title="Not called", detail=sentence
    )
    return problem.to_dict()


def _refused_fields(work: ProfileWork, exc: errors.ProviderError) -> dict[str, str]:
    """The provider's own words beside the value it refused (an edit's 400/422)."""
    problem = exc.problem
    if work.kind != WorkKind.EDIT or problem.kind != errors.INVALID_REQUEST:
        return {}
    said = [str(d.get("msg") or d.get("message") or "") for d in problem.details]
    said = [s for s in said if s]
    message = "; ".join(said) or problem.detail or problem.title
    return {"value": f"{work.account.provider_label} refused it: {message}"}


def _run_fetch(work: ProfileWork) -> tuple[dict, dict]:
    found = services.profile_fetch(account=work.account, profile_id=work.profile_id)
    return {"found": found is not None}, {}


def _run_edit(work: ProfileWork) -> tuple[dict, dict]:
    outcome = services.profile_set_attribute(
        account=work.account,
        profile_id=work.profile_id,
        name=work.attribute,
        value=work.value,
        actor=work.requested_by,
    )
    refreshed = outcome.pop("profile", None)
    outcome["refreshed"] = refreshed is not None
    field_errors = {}
    if outcome["failed"]:
        # providers/octy.md: partial failures — each refused object says why.
        said = "; ".join(str(f.get("error_message") or "refused") for f in outcome["failed"])
        field_errors["value"] = f"{work.account.provider_label} refused it: {said}"
    return outcome, field_errors


def _run_browse(work: ProfileWork) -> tuple[dict, dict]:
    page = services.browse_page(account=work.account, cursor=work.cursor, filters=work.filters)
    return {"profiles": page["profiles"], "next_cursor": page["next_cursor"]}, {}


_RUNNERS = {WorkKind.FETCH: _run_fetch, WorkKind.EDIT: _run_edit, WorkKind.BROWSE: _run_browse}

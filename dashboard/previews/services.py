"""Previews, grids, personas and CQL runs: rows written here, provider calls in *_run.

Requests are checked completely before a row is written (nothing invalid is ever
queued or sent); the Celery task then runs one row by id. ``preview_run`` is also what
the ``preview_slot`` command calls in-process.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import OperationalError, transaction
from django.utils import timezone

from dashboard.accounts.encryption import decrypt_secrets, encrypt_secrets
from dashboard.accounts.models import ConnectedAccount
from dashboard.accounts.services import NoActiveCredential, active_credential, provider_client
from dashboard.calls.context import call_context
from dashboard.core.queueing import enqueue_on_commit
from integrations.croct.client import DEFAULT_LOCALE, ContentRequest, PayloadError
from integrations.croct.payloads import MAX_QUERY_LENGTH, validate_query
from integrations.errors import CONFIGURATION, Problem, ProviderError
from integrations.http import Redactor
from integrations.provider import Capability

from . import visitors
from .models import (
    CqlEvaluation,
    IdentityMode,
    Persona,
    PreviewGrid,
    PreviewRequest,
    RunStatus,
)
from .visitors import VisitorInputError

MAX_SLOT_ID_LENGTH = 120
MAX_PREVIEW_TOKEN_LENGTH = 4096
MAX_GRID_PERSONAS = 8
MAX_GRID_LOCALES = 6


@dataclass(frozen=True)
class Visitor:
    """Who a preview is for: a persona (or none) and the context/identity to send."""

    persona: Persona | None
    context: dict[str, Any]
    identity_mode: str
    identity_value: str


# --- checks ---------------------------------------------------------------------------------
def check_account(account: ConnectedAccount, capability: Capability) -> None:
    if not account.provider_class.can(capability):
        raise VisitorInputError(
            {
                "account": f"{account.name} is a {account.provider_label} account, which cannot "
                f"{'preview slots' if capability == Capability.PREVIEW else 'evaluate CQL'}"
            }
        )
    if not account.is_enabled:
        raise VisitorInputError({"account": f"{account.name} is disabled"})


def check_slot_id(slot_id: str) -> str:
    slot_id = (slot_id or "").strip()
    if not slot_id:
        raise VisitorInputError({"slot_id": "is required"})
    if len(slot_id) > MAX_SLOT_ID_LENGTH or any(c.isspace() for c in slot_id):
        raise VisitorInputError(
            {"slot_id": f"a slot id has no spaces and at most {MAX_SLOT_ID_LENGTH} characters"}
        )
    return slot_id


def check_preview_token(token: str) -> str:
    # providers/croct.md: the preview token is opaque; only its size and shape are ours.
    token = (token or "").strip()
    if len(token) > MAX_PREVIEW_TOKEN_LENGTH or any(c.isspace() for c in token):
        raise VisitorInputError(
            {
                "preview_token": f"a preview token has no spaces and at most "
                f"{MAX_PREVIEW_TOKEN_LENGTH} characters"
            }
        )
    return token


def visitor_for(
    *,
    persona: Persona | None = None,
    context: Mapping[str, Any] | None = None,
    identity_mode: str | None = None,
    identity_value: str = "",
) -> Visitor:
    """The persona's context with ``context`` laid over it, and the identity to use (the
    one given, else the persona's, else a random client id). Raises VisitorInputError."""
    merged = visitors.merge_context(persona.context if persona else {}, context or {})
    merged = visitors.check_context(merged)
    if identity_mode is None:
        identity_mode = persona.identity_mode if persona else IdentityMode.RANDOM
        identity_value = persona.identity_value if persona else ""
    value = visitors.check_identity(identity_mode, identity_value)
    return Visitor(persona, merged, identity_mode, value)


# --- previews -------------------------------------------------------------------------------
def preview_create(
    *,
    account: ConnectedAccount,
    slot_id: str,
    visitor: Visitor,
    version: str = "",
    locale: str = "",
    include_schema: bool = False,
    preview_token: str = "",
    actor=None,
    grid: PreviewGrid | None = None,
    rerun_of: PreviewRequest | None = None,
    enqueue: bool = True,
) -> PreviewRequest:
    """Check everything, store a pending PreviewRequest and (on commit) queue its task.

    Raises VisitorInputError and stores nothing on bad input.
    """
    check_account(account, Capability.PREVIEW)
    errors: dict[str, str] = {}
    cleaned: dict[str, str] = {}
    for name, check, value in (
        ("slot_id", check_slot_id, slot_id),
        ("version", visitors.check_version, version),
        ("locale", visitors.check_locale, locale),
        ("preview_token", check_preview_token, preview_token),
    ):
        try:
            cleaned[name] = check(value)
        except VisitorInputError as exc:
            errors.update(exc.errors)
    if errors:
        raise VisitorInputError(errors)
    token = cleaned["preview_token"]
    with transaction.atomic():
        preview = PreviewRequest.objects.create(
            account=account,
            slot_id=cleaned["slot_id"],
            version=cleaned["version"],
            locale=cleaned["locale"],
            include_schema=include_schema,
            preview_token_ciphertext=encrypt_secrets({"preview_token": token}) if token else "",
            preview_token_hint=token[-4:] if token else "",
            persona=visitor.persona,
            persona_name=visitor.persona.name if visitor.persona else "",
            context=visitor.context,
            identity_mode=visitor.identity_mode,
            identity_value=visitor.identity_value,
            created_by=actor,
            grid=grid,
            rerun_of=rerun_of,
        )
        if enqueue:
            _enqueue_preview(preview.pk)
    return preview


def _enqueue_preview(preview_id: int) -> None:
    from dashboard.previews.tasks import run_preview

    enqueue_on_commit(run_preview, preview_id)


def preview_rerun(*, preview: PreviewRequest, actor=None) -> PreviewRequest:
    """The same request again as a new row (the stored answer stays as it was served)."""
    token = ""
    if preview.preview_token_ciphertext:
        token = decrypt_secrets(preview.preview_token_ciphertext)["preview_token"]
    visitor = Visitor(
        preview.persona, dict(preview.context), preview.identity_mode, preview.identity_value
    )
    return preview_create(
        account=preview.account,
        slot_id=preview.slot_id,
        visitor=visitor,
        version=preview.version,
        locale=preview.locale,
        include_schema=preview.include_schema,
        preview_token=token,
        actor=actor,
        rerun_of=preview,
    )


def content_request_for(preview: PreviewRequest, client) -> ContentRequest:
    """The ContentRequest a stored preview stands for (a random client id is drawn now)."""
    client_id = user_token = None
    if preview.identity_mode == IdentityMode.USER_ID:
        user_token = client.user_token(preview.identity_value)
    elif preview.identity_mode == IdentityMode.CLIENT_ID:
        client_id = preview.identity_value
    else:
        client_id = preview.client_id or visitors.new_client_id()
    if preview.locale == visitors.DEFAULT_LOCALE_WORD:
        locale: Any = DEFAULT_LOCALE
    else:
        locale = preview.locale or None
    token = None
    if preview.preview_token_ciphertext:
        token = decrypt_secrets(preview.preview_token_ciphertext)["preview_token"]
    return ContentRequest(
        slot_id=preview.slot_id,
        version=preview.version or None,
        preferred_locale=locale,
        preview_token=token,
        include_schema=preview.include_schema,
        context=visitors.to_content_context(preview.context),
        client_id=client_id,
        user_token=user_token,
    )


def _write(operation, attempts: int = 6):
    """Run a single-statement write, waiting a moment when SQLite refuses it.

    SQLite (the embedded default, and the shared-cache test database) can answer
    "table is locked" while another worker thread writes; waiting is all it needs.
    PostgreSQL never raises here for these statements.
    """
    for attempt in range(attempts):
        try:
            return operation()
        except OperationalError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.02 * 2**attempt)
    return None


def _claim(model, pk: int):
    """The row, now running, or None when another worker got there first (or it is done)."""
    # A conditional UPDATE: a redelivered message finds the row no longer pending.
    started = {"started_at": timezone.now()} if model is PreviewRequest else {}
    claimed = _write(
        lambda: model.objects.filter(pk=pk, status=RunStatus.PENDING).update(
            status=RunStatus.RUNNING, **started
        )
    )
    return _write(lambda: model.objects.select_related("account").get(pk=pk)) if claimed else None


def _configuration_problem(detail: str) -> dict[str, Any]:
    return Problem.build(
        "croct", CONFIGURATION, title="Cannot call the provider", detail=detail
    ).to_dict()


def _preview_client(preview: PreviewRequest):
    """The account's client; with a preview token, one whose call log also hides it.

    The recorder redacts secret field names and the credential's values; a preview
    token is neither, so it is added to this client's redactor.
    """
    account = preview.account
    credential = active_credential(account)
    client = provider_client(account, credential=credential)
    if preview.preview_token_ciphertext:
        token = decrypt_secrets(preview.preview_token_ciphertext)["preview_token"]
        secrets = account.provider_class.secret_values(decrypt_secrets(credential.ciphertext))
        client.session.redactor = Redactor([*secrets, token])
    return client


def preview_run(*, preview_id: int) -> PreviewRequest:
    """Fetch the content for one pending preview and store what was served.

    Idempotent: a preview that is running or finished is returned as it is. Provider
    failures (a suspension included) are stored as the row's problem, never raised.
    """
    preview = _claim(PreviewRequest, preview_id)
    if preview is None:
        return PreviewRequest.objects.get(pk=preview_id)
    started = time.perf_counter()
    result = problem = None
    with call_context(subject_type="preview", subject_id=preview.pk):
        try:
            client = _preview_client(preview)
            request = content_request_for(preview, client)
            preview.client_id = request.client_id or ""
            started = time.perf_counter()
            answer = client.content(request)
        except ProviderError as exc:
            problem = exc.problem.to_dict()
        except (NoActiveCredential, PayloadError) as exc:
            problem = _configuration_problem(str(exc))
        else:
            result = {
                "content": answer.content,
                "component": answer.component,
                "version": answer.version,
                "source": answer.content_source,
                "experience_id": answer.experience_id,
                "audience_id": answer.audience_id,
                "experiment_id": answer.experiment_id,
                "variant_id": answer.variant_id,
                "schema": answer.schema,
                "raw": answer.raw,
            }
    preview.duration_ms = (time.perf_counter() - started) * 1000
    preview.result = result
    preview.problem = problem
    preview.status = RunStatus.DONE if result is not None else RunStatus.FAILED
    preview.finished_at = timezone.now()
    _write(
        lambda: preview.save(
            update_fields=["client_id", "duration_ms", "result", "problem", "status", "finished_at"]
        )
    )
    return preview


# --- grids ----------------------------------------------------------------------------------
def grid_create(
    *,
    account: ConnectedAccount,
    slot_id: str,
    personas: Sequence[Persona],
    locales: Sequence[str],
    version: str = "",
    include_schema: bool = False,
    actor=None,
) -> PreviewGrid:
    """A grid with one pending preview per persona x locale; the first cell is the
    baseline. Raises VisitorInputError and stores nothing on bad input."""
    check_account(account, Capability.PREVIEW)
    errors: dict[str, str] = {}
    if not personas:
        errors["personas"] = "pick at least one persona"
    elif len(personas) > MAX_GRID_PERSONAS:
        errors["personas"] = f"at most {MAX_GRID_PERSONAS} personas"
    clean_locales: list[str] = []
    for locale in locales:
        try:
            clean = visitors.check_locale(locale) or visitors.DEFAULT_LOCALE_WORD
        except VisitorInputError as exc:
            errors["locales"] = f"{locale!r}: {exc.errors['locale']}"
            break
        if clean not in clean_locales:
            clean_locales.append(clean)
    if not clean_locales and "locales" not in errors:
        errors["locales"] = "give at least one locale (or “default”)"
    elif len(clean_locales) > MAX_GRID_LOCALES:
        errors["locales"] = f"at most {MAX_GRID_LOCALES} locales"
    try:
        slot_id = check_slot_id(slot_id)
        version = visitors.check_version(version)
    except VisitorInputError as exc:
        errors.update(exc.errors)
    visitors_by_persona = {}
    for persona in personas:
        try:
            visitors_by_persona[persona.pk] = visitor_for(persona=persona)
        except VisitorInputError as exc:
            errors["personas"] = f"{persona.name}: {'; '.join(exc.errors.values())}"
    if errors:
        raise VisitorInputError(errors)
    with transaction.atomic():
        grid = PreviewGrid.objects.create(
            account=account,
            slot_id=slot_id,
            version=version,
            include_schema=include_schema,
            locales=clean_locales,
            persona_names=[p.name for p in personas],
            created_by=actor,
        )
        cells = [
            preview_create(
                account=account,
                slot_id=slot_id,
                visitor=visitors_by_persona[persona.pk],
                version=version,
                locale=locale,
                include_schema=include_schema,
                actor=actor,
                grid=grid,
            )
            for persona in personas
            for locale in clean_locales
        ]
        grid.baseline = cells[0]
        grid.save(update_fields=["baseline"])
    return grid


def grid_set_baseline(*, grid: PreviewGrid, cell: PreviewRequest) -> None:
    if cell.grid_id != grid.pk:
        raise VisitorInputError({"baseline": "that cell is not in this grid"})
    grid.baseline = cell
    grid.save(update_fields=["baseline"])


# --- personas ---------------------------------------------------------------------------------
def persona_save(
    *,
    name: str,
    context: Mapping[str, Any],
    identity_mode: str,
    identity_value: str = "",
    description: str = "",
    persona: Persona | None = None,
    actor=None,
) -> Persona:
    """Create or update a persona. Raises VisitorInputError (a taken name included)."""
    errors: dict[str, str] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = "is required"
    elif len(name) > 80:
        errors["name"] = "at most 80 characters"
    else:
        taken = Persona.objects.filter(name__iexact=name)
        if persona is not None:
            taken = taken.exclude(pk=persona.pk)
        if taken.exists():
            errors["name"] = f"a persona named {name!r} already exists"
    try:
        context = visitors.check_context(context)
    except VisitorInputError as exc:
        errors.update(exc.errors)
    try:
        identity_value = visitors.check_identity(identity_mode, identity_value)
    except VisitorInputError as exc:
        errors.update(exc.errors)
    if errors:
        raise VisitorInputError(errors)
    if persona is None:
        persona = Persona(created_by=actor)
    persona.name = name
    persona.description = (description or "").strip()[:200]
    persona.context = context
    persona.identity_mode = identity_mode
    persona.identity_value = identity_value
    persona.updated_by = actor
    persona.save()
    return persona


def persona_delete(*, persona: Persona, actor=None) -> None:
    # Previews keep persona_name and their context snapshot: history still reads right.
    persona.delete()


# --- CQL --------------------------------------------------------------------------------------
def evaluation_create(
    *, account: ConnectedAccount, query: str, visitor: Visitor, actor=None, enqueue: bool = True
) -> CqlEvaluation:
    """Store a pending CQL evaluation and queue it. Raises VisitorInputError (a query over
    500 characters is refused here, before anything is sent)."""
    check_account(account, Capability.EVALUATE)
    try:
        query = validate_query(query)
    except PayloadError as exc:
        raise VisitorInputError({"query": exc.reason}) from None
    with transaction.atomic():
        evaluation = CqlEvaluation.objects.create(
            account=account,
            query=query,
            persona=visitor.persona,
            persona_name=visitor.persona.name if visitor.persona else "",
            context=visitor.context,
            identity_mode=visitor.identity_mode,
            identity_value=visitor.identity_value,
            created_by=actor,
        )
        if enqueue:
            from dashboard.previews.tasks import run_evaluation

            enqueue_on_commit(run_evaluation, evaluation.pk)
    return evaluation


def evaluation_run(*, evaluation_id: int) -> CqlEvaluation:
    """Evaluate one pending query; the value (``result["value"]``) or the problem is stored.
    Idempotent like preview_run."""
    evaluation = _claim(CqlEvaluation, evaluation_id)
    if evaluation is None:
        return CqlEvaluation.objects.get(pk=evaluation_id)
    started = time.perf_counter()
    result = problem = None
    with call_context(subject_type="cql_evaluation", subject_id=evaluation.pk):
        try:
            client = provider_client(evaluation.account)
            client_id = user_token = None
            if evaluation.identity_mode == IdentityMode.USER_ID:
                user_token = client.user_token(evaluation.identity_value)
            else:
                client_id = evaluation.identity_value or visitors.new_client_id()
            started = time.perf_counter()
            answer = client.evaluate(
                evaluation.query,
                visitors.to_content_context(evaluation.context),
                client_id=client_id,
                user_token=user_token,
            )
        except ProviderError as exc:
            problem = exc.problem.to_dict()
        except (NoActiveCredential, PayloadError) as exc:
            problem = _configuration_problem(str(exc))
        else:
            result = {"value": answer.value}
    evaluation.duration_ms = (time.perf_counter() - started) * 1000
    evaluation.result = result
    evaluation.problem = problem
    evaluation.status = RunStatus.DONE if result is not None else RunStatus.FAILED
    evaluation.finished_at = timezone.now()
    _write(
        lambda: evaluation.save(
            update_fields=["duration_ms", "result", "problem", "status", "finished_at"]
        )
    )
    return evaluation


__all__ = [
    "MAX_QUERY_LENGTH",
    "Visitor",
    "VisitorInputError",
    "evaluation_create",
    "evaluation_run",
    "grid_create",
    "grid_set_baseline",
    "persona_delete",
    "persona_save",
    "preview_create",
    "preview_rerun",
    "preview_run",
    "visitor_for",
]


# --- lost messages ------------------------------------------------------------------------------
def previews_requeue_stale(*, pending_after: float = 60.0, running_after: float | None = None):
    """Queue again the previews and evaluations whose task message was lost.

    A row still pending ``pending_after`` seconds after it was written never reached a
    worker; one running longer than the task time limit lost its worker. Both are put
    back to pending and queued. Returns how many rows of each kind were queued.
    """
    from datetime import timedelta

    from django.conf import settings

    from dashboard.previews.tasks import run_evaluation, run_preview

    now = timezone.now()
    running_after = running_after or settings.CELERY_TASK_TIME_LIMIT + 30
    pending_cutoff = now - timedelta(seconds=pending_after)
    running_cutoff = now - timedelta(seconds=running_after)
    stuck_previews = PreviewRequest.objects.filter(
        status=RunStatus.RUNNING, started_at__lt=running_cutoff
    )
    stuck_previews.update(status=RunStatus.PENDING)
    # Evaluations keep no start time: a running one is judged by its age.
    CqlEvaluation.objects.filter(status=RunStatus.RUNNING, created_at__lt=running_cutoff).update(
        status=RunStatus.PENDING
    )
    counts = {}
    for model, task in ((PreviewRequest, run_preview), (CqlEvaluation, run_evaluation)):
        ids = list(
            model.objects.filter(
                status=RunStatus.PENDING, created_at__lt=pending_cutoff
            ).values_list("pk", flat=True)[:500]
        )
        for pk in ids:
            task.delay(pk)
        counts[model._meta.model_name] = len(ids)
    return counts

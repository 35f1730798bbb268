"""Previews: one content fetch for one visitor, checked, stored, then run by its task.

Requests are checked completely before a row is written (nothing invalid is ever
queued or sent); the Celery task then runs one row by id. ``preview_run`` is also
what the ``preview_slot`` command calls in-process.
"""

from __future__ import annotations

import time
from typing import Any

from django.db import transaction
from django.utils import timezone

from dashboard.accounts.encryption import decrypt_secrets, encrypt_secrets
from dashboard.accounts.models import ConnectedAccount
from dashboard.accounts.services import NoActiveCredential, active_credential, provider_client
from dashboard.calls.context import call_context
from dashboard.core.db import retry_on_locked
from dashboard.core.queueing import enqueue_on_commit
from dashboard.previews import visitors
from dashboard.previews.models import IdentityMode, PreviewGrid, PreviewRequest, RunStatus
from dashboard.previews.visitors import VisitorInputError
from integrations.croct.client import DEFAULT_LOCALE, ContentRequest
from integrations.errors import PayloadError, ProviderError
from integrations.http import Redactor
from integrations.provider import Capability

from .catalog import catalog_record_seen_quietly
from .checks import Visitor, check_account, check_preview_token, check_slot_id
from .runs import claim_run, configuration_problem


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
            client_id=visitor.client_id,
            client_ip=visitor.client_ip,
            client_agent=visitor.client_agent,
            created_by=actor,
            grid=grid,
            rerun_of=rerun_of,
        )
        if enqueue:
            # By name: tasks import this module, never the reverse (core/queueing.py).
            enqueue_on_commit("previews.run_preview", preview.pk)
    return preview


def preview_rerun(*, preview: PreviewRequest, actor=None) -> PreviewRequest:
    """The same request again as a new row (the stored answer stays as it was served)."""
    token = ""
    if preview.preview_token_ciphertext:
        token = decrypt_secrets(preview.preview_token_ciphertext)["preview_token"]
    # The same visitor again (its client id included), so "what it shows now" differs
    # only by what changed in Croct; a new visitor is new again.
    visitor = Visitor(
        preview.persona,
        dict(preview.context),
        preview.identity_mode,
        preview.identity_value,
        client_id="" if preview.identity_mode == IdentityMode.RANDOM else preview.client_id,
        client_ip=preview.client_ip,
        client_agent=preview.client_agent,
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
    """The ContentRequest a stored preview stands for (a new visitor's client id is
    drawn now, unless its grid row fixed one)."""
    client_id, user_token = identity_for(preview, client)
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
        client_ip=preview.client_ip or None,
        client_agent=preview.client_agent or None,
    )


def identity_for(row, client) -> tuple[str | None, str | None]:
    """(X-Client-Id, X-Token) for a stored preview or evaluation."""
    if row.identity_mode == IdentityMode.USER_ID:
        # A persona's user keeps the persona's client id; an ad-hoc user sends none.
        return row.client_id or None, client.user_token(row.identity_value)
    if row.identity_mode == IdentityMode.CLIENT_ID:
        return row.identity_value, None
    return row.client_id or visitors.new_client_id(), None


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
    A served slot is recorded in the account's slot catalog.
    """
    preview = claim_run(PreviewRequest, preview_id)
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
            problem = configuration_problem(preview.account.provider, str(exc))
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
    retry_on_locked(
        lambda: preview.save(
            update_fields=["client_id", "duration_ms", "result", "problem", "status", "finished_at"]
        )
    )
    # After the preview's own row: the slot catalog learns what this slot serves.
    catalog_record_seen_quietly(preview=preview)
    return preview

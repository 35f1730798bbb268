"""CQL runs: a query evaluated with a visitor's context (the playground)."""

from __future__ import annotations

import time

from django.db import transaction
from django.utils import timezone

from dashboard.accounts.models import ConnectedAccount
from dashboard.accounts.services import NoActiveCredential, provider_client
from dashboard.calls.context import call_context
from dashboard.core.db import retry_on_locked
from dashboard.core.queueing import enqueue_on_commit
from dashboard.previews import visitors
from dashboard.previews.models import CqlEvaluation, RunStatus
from dashboard.previews.visitors import VisitorInputError
from integrations.croct.payloads import MAX_QUERY_LENGTH, validate_query
from integrations.errors import PayloadError, ProviderError
from integrations.provider import Capability

from .checks import Visitor, check_account
from .previews import identity_for
from .runs import claim_run, configuration_problem

__all__ = ["MAX_QUERY_LENGTH", "evaluation_create", "evaluation_run"]


def evaluation_create(
    *, account: ConnectedAccount, query: str, visitor: Visitor, actor=None, enqueue: bool = True
) -> CqlEvaluation:
    """Store a pending CQL evaluation and queue it. Raises VisitorInputError (a query over
    500 characters is refused here, before anything is sent)."""
    check_account(account, Capability.EVALUATE)
    try:
        query = validate_query(query)
    except PayloadError as exc:
        raise VisitorInputError({"query": exc.message}) from None
    with transaction.atomic():
        evaluation = CqlEvaluation.objects.create(
            account=account,
            query=query,
            persona=visitor.persona,
            persona_name=visitor.persona.name if visitor.persona else "",
            context=visitor.context,
            identity_mode=visitor.identity_mode,
            identity_value=visitor.identity_value,
            client_id=visitor.client_id,
            client_ip=visitor.client_ip,
            client_agent=visitor.client_agent,
            created_by=actor,
        )
        if enqueue:
            # By name: tasks import this module, never the reverse (core/queueing.py).
            enqueue_on_commit("previews.run_evaluation", evaluation.pk)
    return evaluation


def evaluation_run(*, evaluation_id: int) -> CqlEvaluation:
    """Evaluate one pending query; the value (``result["value"]``) or the problem is stored.
    Idempotent like preview_run."""
    evaluation = claim_run(CqlEvaluation, evaluation_id)
    if evaluation is None:
        return CqlEvaluation.objects.get(pk=evaluation_id)
    started = time.perf_counter()
    result = problem = None
    with call_context(subject_type="cql_evaluation", subject_id=evaluation.pk):
        try:
            client = provider_client(evaluation.account)
            client_id, user_token = identity_for(evaluation, client)
            evaluation.client_id = client_id or ""
            started = time.perf_counter()
            answer = client.evaluate(
                evaluation.query,
                visitors.to_content_context(evaluation.context),
                client_id=client_id,
                user_token=user_token,
                client_ip=evaluation.client_ip or None,
                client_agent=evaluation.client_agent or None,
            )
        except ProviderError as exc:
            problem = exc.problem.to_dict()
        except (NoActiveCredential, PayloadError) as exc:
            problem = configuration_problem(evaluation.account.provider, str(exc))
        else:
            result = {"value": answer.value}
    evaluation.duration_ms = (time.perf_counter() - started) * 1000
    evaluation.result = result
    evaluation.problem = problem
    evaluation.status = RunStatus.DONE if result is not None else RunStatus.FAILED
    evaluation.finished_at = timezone.now()
    retry_on_locked(
        lambda: evaluation.save(
            update_fields=[
                "client_id",
                "duration_ms",
                "result",
                "problem",
                "status",
                "finished_at",
            ]
        )
    )
    return evaluation

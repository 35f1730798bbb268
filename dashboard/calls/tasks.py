from celery import shared_task
from django.conf import settings

from dashboard.calls.groups import fold_stragglers
from dashboard.calls.services import calls_partitions_ahead, calls_prune


@shared_task(name="calls.prune")
def prune_calls() -> int:
    return calls_prune(older_than_days=settings.CALL_LOG_RETENTION_DAYS)


@shared_task(name="calls.partitions_ahead")
def create_partitions_ahead() -> int:
    return len(calls_partitions_ahead(days_ahead=settings.CALL_LOG_PARTITIONS_AHEAD_DAYS))


@shared_task(name="calls.fold_stragglers")
def fold_straggler_failures() -> int:
    return fold_stragglers()

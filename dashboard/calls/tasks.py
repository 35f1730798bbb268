from celery import shared_task
from django.conf import settings

from dashboard.calls.services import calls_prune


@shared_task(name="calls.prune")
def prune_calls() -> int:
    return calls_prune(older_than_days=settings.CALL_LOG_RETENTION_DAYS)

"""Thin tasks: load by id, call one service (tasks import services, never the reverse:
services enqueue these by name through ``core.queueing``).

A database error (a deadlock, SQLite's "database is locked") is retried with backoff;
the retry may take back the row its failed run had claimed (``retrying``), which is
safe because every step stores its progress with the cursor in one transaction.
"""

from celery import shared_task
from django.db import OperationalError

from dashboard.profiles.exports import EXPORT_TASK, export_run
from dashboard.profiles.services import LOOKUP_TASK, lookup_result_run
from dashboard.profiles.sync import SYNC_TASK, sync_run
from dashboard.profiles.work import PROFILE_WORK_TASK, profile_work_run

RETRY_DATABASE_ERRORS = {
    "bind": True,
    "autoretry_for": (OperationalError,),
    "retry_backoff": 1,
    "retry_backoff_max": 4,
    "retry_jitter": True,
    "max_retries": 8,
}


@shared_task(name=LOOKUP_TASK, **RETRY_DATABASE_ERRORS)
def run_lookup_result(self, result_id: int) -> str:
    return lookup_result_run(result_id=result_id, retrying=self.request.retries > 0).status


@shared_task(name=SYNC_TASK, **RETRY_DATABASE_ERRORS)
def run_sync_job(self, job_id: int) -> str:
    return sync_run(job_id=job_id, retrying=self.request.retries > 0).status


@shared_task(name=EXPORT_TASK, **RETRY_DATABASE_ERRORS)
def run_export_job(self, job_id: int) -> str:
    return export_run(job_id=job_id, retrying=self.request.retries > 0).status


@shared_task(name=PROFILE_WORK_TASK, **RETRY_DATABASE_ERRORS)
def run_profile_work(self, work_id: int) -> str:
    return profile_work_run(work_id=work_id, retrying=self.request.retries > 0).status

"""Thin tasks: load by id, call one service.

A database error (a deadlock, SQLite's "database is locked") is retried with backoff;
the retry may take over the row its failed run had claimed (``reclaim``), which is
safe because every step stores its progress with the cursor in one transaction.
"""

from celery import shared_task
from django.db import OperationalError

from dashboard.profiles.jobs import export_run, sweep_stalled, sync_run
from dashboard.profiles.services import lookup_result_run

RETRY_DATABASE_ERRORS = {
    "bind": True,
    "autoretry_for": (OperationalError,),
    "retry_backoff": 1,
    "retry_backoff_max": 4,
    "retry_jitter": True,
    "max_retries": 8,
}


@shared_task(name="profiles.lookup", **RETRY_DATABASE_ERRORS)
def run_lookup_result(self, result_id: int) -> str:
    return lookup_result_run(result_id=result_id, reclaim=self.request.retries > 0).status


@shared_task(name="profiles.sync", **RETRY_DATABASE_ERRORS)
def run_sync_job(self, job_id: int) -> str:
    return sync_run(job_id=job_id, reclaim=self.request.retries > 0).status


@shared_task(name="profiles.export", **RETRY_DATABASE_ERRORS)
def run_export_job(self, job_id: int) -> str:
    return export_run(job_id=job_id, reclaim=self.request.retries > 0).status


@shared_task(name="profiles.sweep_stalled")
def sweep_stalled_work() -> dict:
    return sweep_stalled()

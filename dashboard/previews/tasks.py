"""Previews' tasks: each loads one row by id and calls its service (the services
never import this module; they enqueue by task name)."""

from celery import shared_task

from dashboard.previews.services import evaluation_run, preview_run


@shared_task(name="previews.run_preview")
def run_preview(preview_id: int) -> str:
    return preview_run(preview_id=preview_id).status


@shared_task(name="previews.run_evaluation")
def run_evaluation(evaluation_id: int) -> str:
    return evaluation_run(evaluation_id=evaluation_id).status

from celery import shared_task

from dashboard.core.queueing import sweep


@shared_task(name="core.sweep")
def sweep_waiting_work() -> dict[str, int]:
    """Re-send every app's work still waiting for its task (see core/queueing.py)."""
    return sweep()

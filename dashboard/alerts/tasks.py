from celery import shared_task

from dashboard.alerts.delivery import delivery_attempt
from dashboard.alerts.engine import alerts_run


@shared_task(name="alerts.run", ignore_result=True)
def run_alerts() -> int:
    """The beat's evaluation pass (idempotent: see engine.py)."""
    return len(alerts_run().alerts)


@shared_task(name="alerts.deliver", ignore_result=True)
def deliver_alert(delivery_id: int) -> str:
    """One try at a delivery; its retries are scheduled by the service with backoff."""
    delivery = delivery_attempt(delivery_id=delivery_id)
    return delivery.state if delivery else "not due"

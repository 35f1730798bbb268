from celery import shared_task

from dashboard.events import services


@shared_task(name="events.dispatch")
def dispatch_events() -> dict:
    """Deliver due events; re-enqueue itself when the budget ran out or retries wait."""
    report = services.events_dispatch()
    if report.more:
        dispatch_events.delay()
    elif report.next_retry_in is not None:
        dispatch_events.apply_async(countdown=report.next_retry_in)
    return {"claimed": report.claimed, "delivered": report.delivered}


@shared_task(name="events.sweep")
def sweep_events() -> int:
    """Re-queue events whose lease expired, then make sure due events get a dispatcher."""
    swept = services.events_sweep()
    if services.has_due_events():
        dispatch_events.delay()
    return swept


@shared_task(name="events.replay")
def run_replay(replay_id: int) -> str:
    return services.replay_run(replay_id=replay_id).status

"""The events tasks: each takes ids and calls one service (services never import
this module; they send these tasks by name through ``core.queueing``)."""

from celery import shared_task

from dashboard.events import dispatch, replay


@shared_task(name="events.dispatch")
def dispatch_events() -> dict:
    """Deliver due events; re-enqueue itself when the budget ran out or retries wait."""
    report = dispatch.events_dispatch()
    if report.more:
        dispatch_events.delay()
    elif report.next_retry_in is not None:
        dispatch_events.apply_async(countdown=report.next_retry_in)
    return {"claimed": report.claimed, "delivered": report.delivered}


@shared_task(name="events.replay")
def run_replay(replay_id: int) -> str:
    return replay.replay_run(replay_id=replay_id).status

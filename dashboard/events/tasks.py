"""The events tasks: each takes ids and calls one service (services never import
this module; they send these tasks by name through ``core.queueing``)."""

from celery import shared_task

from dashboard.events import dispatch, outbox, replay


@shared_task(name="events.dispatch")
def dispatch_events(account_id: int | None = None, token: str = "") -> dict:
    """Deliver the account's due events, then ask for the next run if the budget ran
    out or retries wait (``outbox.dispatch_request`` coalesces the asking).

    Without an account (a message from before dispatch was per account, or a caller
    wanting everything sent): ask for one run per account with due events."""
    if account_id is None:
        return {"requested": outbox.dispatch_accounts_due()}
    if not outbox.dispatch_started(account_id=account_id, token=token):
        # Another message took this one's place (or this one was delivered twice):
        # that one's run claims the events.
        return {"claimed": 0, "delivered": 0, "superseded": True}
    report = dispatch.events_dispatch(account_id=account_id)
    if report.paused_for is not None:
        # The account's pace (or a provider's Retry-After) has no slot free soon: the
        # next run starts when one is, not at once to find the same.
        outbox.dispatch_request(account_id=account_id, delay=report.paused_for)
    elif report.more:
        outbox.dispatch_request(account_id=account_id)
    else:
        outbox.dispatch_again_when_due(account_id=account_id)
    return {"claimed": report.claimed, "delivered": report.delivered}


@shared_task(name="events.replay")
def run_replay(replay_id: int) -> str:
    return replay.replay_run(replay_id=replay_id).status

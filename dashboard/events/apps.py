from django.apps import AppConfig

from dashboard.calls.subjects import register_subject


class EventsConfig(AppConfig):
    name = "dashboard.events"
    label = "events"
    verbose_name = "Outbound events"

    def ready(self) -> None:
        # The outbox imports models, which load only once the app registry is ready.
        from auditlog.registry import auditlog

        from dashboard.accounts.audit import ACTIONS
        from dashboard.core.queueing import register_sweeper
        from dashboard.events.models import DeliveryPace
        from dashboard.events.outbox import events_resend_waiting
        from dashboard.events.pacing import PACE_ACTIONS

        register_subject("event", "events:detail")
        # Lost leases are re-queued, and due events get a dispatcher, by core.sweep.
        register_sweeper("events.leases")(events_resend_waiting)
        # An admin's change of an account's pace is audited; the send slots the
        # dispatchers reserve (next_free_at, many times a second) are not.
        auditlog.register(DeliveryPace, include_fields=["requests_per_second", "concurrency"])
        ACTIONS.update(PACE_ACTIONS)

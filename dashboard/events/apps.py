from django.apps import AppConfig

from dashboard.calls.subjects import register_subject


class EventsConfig(AppConfig):
    name = "dashboard.events"
    label = "events"
    verbose_name = "Outbound events"

    def ready(self) -> None:
        # The outbox imports models, which load only once the app registry is ready.
        from dashboard.core.queueing import register_sweeper
        from dashboard.events.outbox import events_resend_waiting

        register_subject("event", "events:detail")
        # Lost leases are re-queued, and due events get a dispatcher, by core.sweep.
        register_sweeper("events.leases")(events_resend_waiting)

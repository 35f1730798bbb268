from django.apps import AppConfig

from dashboard.calls.subjects import register_subject


class EventsConfig(AppConfig):
    name = "dashboard.events"
    label = "events"
    verbose_name = "Outbound events"

    def ready(self) -> None:
        register_subject("event", "events:detail")

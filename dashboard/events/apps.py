from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "dashboard.events"
    label = "events"
    verbose_name = "Outbound events"

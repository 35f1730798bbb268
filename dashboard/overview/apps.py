from django.apps import AppConfig


class OverviewConfig(AppConfig):
    """The top of the app graph (docs/architecture.md): the one app that reads every
    feature's selectors; nothing imports it but the URLconf."""

    name = "dashboard.overview"
    label = "overview"
    verbose_name = "Overview and demo seeding"

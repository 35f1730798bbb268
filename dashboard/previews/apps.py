from django.apps import AppConfig

from dashboard.calls.subjects import register_subject


class PreviewsConfig(AppConfig):
    name = "dashboard.previews"
    label = "previews"
    verbose_name = "Slot previews"

    def ready(self) -> None:
        register_subject("preview", "previews:detail")
        register_subject("cql_evaluation", "previews:cql_result")

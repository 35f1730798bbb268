from django.apps import AppConfig


class PreviewsConfig(AppConfig):
    name = "dashboard.previews"
    label = "previews"
    verbose_name = "Slot previews"

from django.apps import AppConfig


class ProfilesConfig(AppConfig):
    name = "dashboard.profiles"
    label = "profiles"
    verbose_name = "Customer profiles"

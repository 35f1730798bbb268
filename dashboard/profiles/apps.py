from django.apps import AppConfig

from dashboard.calls.subjects import register_subject


class ProfilesConfig(AppConfig):
    name = "dashboard.profiles"
    label = "profiles"
    verbose_name = "Customer profiles"

    def ready(self) -> None:
        register_subject("profile_sync", "profiles:sync_job")
        register_subject("export", "profiles:export_job")
        register_subject("lookup", "profiles:lookup")

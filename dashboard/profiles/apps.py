from django.apps import AppConfig

from dashboard.calls.pii import register_customer_data_viewer
from dashboard.calls.subjects import register_subject


class ProfilesConfig(AppConfig):
    name = "dashboard.profiles"
    label = "profiles"
    verbose_name = "Customer profiles"

    def ready(self) -> None:
        register_subject("profile_sync", "profiles:sync_job")
        register_subject("export", "profiles:export_job")
        register_subject("lookup", "profiles:lookup")
        # A call page showing a customer's data is a profile view (#15 item 3).
        from dashboard.profiles.services import access_record_call_view

        register_customer_data_viewer(access_record_call_view)

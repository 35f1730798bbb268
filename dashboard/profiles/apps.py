from django.apps import AppConfig

from dashboard.calls.pii import register_customer_data_viewer
from dashboard.calls.subjects import register_subject
from dashboard.core.queueing import register_sweeper


class ProfilesConfig(AppConfig):
    name = "dashboard.profiles"
    label = "profiles"
    verbose_name = "Customer profiles"

    def ready(self) -> None:
        # Imported here: the sweeper imports the app's models, which Django loads only
        # after every AppConfig (importing them at the top would fail, not cycle).
        from dashboard.profiles.sweeper import profiles_resend_stalled

        register_subject("profile_sync", "profiles:sync_job")
        register_subject("export", "profiles:export_job")
        register_subject("lookup", "profiles:lookup")
        # Stalled syncs, exports and look-ups are re-queued by core.sweep.
        register_sweeper("profiles.stalled")(profiles_resend_stalled)
        # A call page showing a customer's data is a profile view (#15 item 3).
        from dashboard.profiles.services import access_record_call_view

        register_customer_data_viewer(access_record_call_view)

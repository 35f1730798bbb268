from django.apps import AppConfig
from django.conf import settings

from integrations import netguard


class CoreConfig(AppConfig):
    name = "dashboard.core"
    label = "core"
    verbose_name = "Switchyard core"

    def ready(self) -> None:
        # Every process that calls providers (web, workers, commands) loads the apps.
        netguard.configure(settings.PROVIDER_ALLOWED_NETWORKS)
        # No NUL character reaches the database, whichever code wrote it (#15 item 4).
        from dashboard.core import text

        text.install()

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "dashboard.accounts"
    label = "accounts"
    verbose_name = "Connected accounts"

    def ready(self) -> None:
        # Imported here: models (and what imports them) load only once the app
        # registry is ready.
        from auditlog.models import LogEntry
        from auditlog.registry import auditlog
        from django.db.models.signals import pre_save

        from dashboard.accounts.audit import fill_actor
        from dashboard.accounts.models import ConnectedAccount, Credential
        from dashboard.accounts.scheduled_checks import account_checks_resend_waiting
        from dashboard.core.queueing import register_sweeper

        pre_save.connect(fill_actor, sender=LogEntry, dispatch_uid="accounts.audit.fill_actor")

        auditlog.register(ConnectedAccount)
        # The ciphertext never goes into an audit row, not even encrypted.
        auditlog.register(Credential, exclude_fields=["ciphertext"])

        # Checks whose task could not be sent (broker down) are sent again by core.sweep.
        register_sweeper("accounts.checks")(account_checks_resend_waiting)

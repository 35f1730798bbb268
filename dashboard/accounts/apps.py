from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "dashboard.accounts"
    label = "accounts"
    verbose_name = "Connected accounts"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from dashboard.accounts.models import ConnectedAccount, Credential

        auditlog.register(ConnectedAccount)
        # The ciphertext never goes into an audit row, not even encrypted.
        auditlog.register(Credential, exclude_fields=["ciphertext"])

from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "dashboard.alerts"
    label = "alerts"
    verbose_name = "Alerts"

    def ready(self) -> None:
        from auditlog.registry import auditlog

        from dashboard.accounts.audit import ACTIONS
        from dashboard.alerts.audit import ALERT_ACTIONS
        from dashboard.alerts.delivery import deliveries_resend_waiting
        from dashboard.alerts.models import AlertRule, Destination, GroupSnooze
        from dashboard.core.queueing import register_sweeper

        # The Audit page labels and filters alert changes next to the account ones.
        ACTIONS.update(ALERT_ACTIONS)
        auditlog.register(AlertRule)
        auditlog.register(GroupSnooze)
        # The encrypted target and signing secret never go into an audit row.
        auditlog.register(Destination, exclude_fields=["ciphertext", "signing_ciphertext"])
        # Deliveries whose task could not be sent (broker down) are sent by core.sweep.
        register_sweeper("alerts.deliveries")(deliveries_resend_waiting)

"""How alert changes read on the Audit page: an action label per service call and a
one-line summary of the rule, destination or snooze the entry is about.

auditlog writes the entries (apps.py registers the models); the services label them
with :func:`dashboard.accounts.audit.audit_action`. The Audit page shows ``summary``
instead of the model name and a dump of its fields.
"""

from __future__ import annotations

ALERT_ACTIONS: dict[str, str] = {
    "alert_rule_add": "Added alert rule",
    "alert_rule_remove": "Removed alert rule",
    "alert_rule_mute": "Muted alert rule",
    "alert_rule_unmute": "Unmuted alert rule",
    "alert_rule_snooze": "Snoozed alert rule",
    "alert_rule_wake": "Woke alert rule",
    "alert_destination_add": "Added alert destination",
    "alert_destination_remove": "Removed alert destination",
    "alert_group_snooze": "Snoozed alerts for an error group",
    "alert_group_wake": "Woke alerts for an error group",
}

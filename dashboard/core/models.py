"""Role permissions.

Switchyard's permissions are about pages and actions, not about one model, so they
hang off this table-less model. Groups (roles) get them in a data migration; see
``roles.py`` for which role holds which.
"""

from django.db import models


class Access(models.Model):
    class Meta:
        managed = False
        default_permissions = ()
        permissions = [
            ("view_overview", "See the operations overview"),
            ("view_accounts", "See connected accounts and their health"),
            ("manage_accounts", "Connect accounts and manage their credentials"),
            ("use_preview", "Preview slots, manage personas, run CQL"),
            ("view_previews", "Read preview results"),
            ("view_events", "Read the sent-events inspector"),
            ("send_events", "Compose, send and replay events"),
            ("replay_customer_events", "Replay events of a customer being looked up"),
            ("lookup_profiles", "Look customers up across providers"),
            ("edit_profiles", "Create or update provider profiles"),
            ("see_contact_details", "See unmasked emails and phone numbers"),
            ("view_errors", "Read the API call log and error history"),
            ("manage_errors", "Resolve or ignore error groups"),
            ("triage_errors", "Assign and snooze error groups"),
            ("export_data", "Export profile and event data"),
            ("view_audit", "Read the audit trail"),
            ("manage_team", "Invite staff, change roles, reset second factors, end sessions"),
        ]

    def __str__(self) -> str:
        return "Switchyard access"

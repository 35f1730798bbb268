"""Issue #20: support staff and admins assign and snooze error groups
(``triage_errors``); resolving and ignoring stay with ``manage_errors`` (admins)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

TRIAGE_ROLES = ("support", "admin")


def grant_triage(apps, schema_editor):
    # Permissions are normally created after all migrations; the groups need it now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    triage = Permission.objects.filter(content_type__app_label="core", codename="triage_errors")
    for group in Group.objects.filter(name__in=TRIAGE_ROLES):
        group.permissions.add(*triage)


def revoke_triage(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Permission.objects.filter(content_type__app_label="core", codename="triage_errors").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0003_manage_team"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="access",
            options={
                "default_permissions": (),
                "managed": False,
                "permissions": [
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
                    (
                        "manage_team",
                        "Invite staff, change roles, reset second factors, end sessions",
                    ),
                ],
            },
        ),
        migrations.RunPython(grant_triage, revoke_triage),
    ]

from django.contrib.auth.management import create_permissions
from django.db import migrations


def grant_manage_team(apps, schema_editor):
    # The permission is normally created after all migrations; the admin group needs it now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permission = Permission.objects.get(content_type__app_label="core", codename="manage_team")
    for group in Group.objects.filter(name="admin"):
        group.permissions.add(permission)


def revoke_manage_team(apps, schema_editor):
    apps.get_model("auth", "Permission").objects.filter(
        content_type__app_label="core", codename="manage_team"
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("core", "0002_roles")]

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
                    ("export_data", "Export profile and event data"),
                    ("view_audit", "Read the audit trail"),
                    (
                        "manage_team",
                        "Invite staff, change roles, reset second factors, end sessions",
                    ),
                ],
            },
        ),
        migrations.RunPython(grant_manage_team, revoke_manage_team),
    ]

"""Creates the three staff roles (groups) with their permissions."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLE_PERMISSIONS = {
    "marketer": (
        "view_overview",
        "view_accounts",
        "view_events",
        "view_errors",
        "view_previews",
        "use_preview",
        "send_events",
    ),
    "support": (
        "view_overview",
        "view_accounts",
        "view_events",
        "view_errors",
        "view_previews",
        "lookup_profiles",
        "edit_profiles",
        "see_contact_details",
        "replay_customer_events",
    ),
    "admin": (
        "view_overview",
        "view_accounts",
        "view_events",
        "view_errors",
        "view_previews",
        "use_preview",
        "send_events",
        "lookup_profiles",
        "edit_profiles",
        "see_contact_details",
        "replay_customer_events",
        "manage_accounts",
        "manage_errors",
        "export_data",
        "view_audit",
    ),
}


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="core", codename__in=codenames)
        )


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_PERMISSIONS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]

"""Give the admin role the notification channel and registry webhook permissions."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

# A copy, not an import: a migration must keep doing what it did when it was written.
ADMIN = [
    *(("dashboard", f"{verb}_notificationchannel") for verb in ("add", "change", "delete", "view")),
    ("dashboard", "view_notification"),
    *(("registries", f"{verb}_webhookendpoint") for verb in ("add", "change", "delete", "view")),
    ("registries", "view_webhookdelivery"),
]


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name="admin").first()
    if group is None:  # someone deleted it: dashboard.roles.role_group recreates it with every permission
        return
    for app_label, codename in ADMIN:
        group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name="admin").first()
    if group is not None:
        for app_label, codename in ADMIN:
            group.permissions.remove(*Permission.objects.filter(content_type__app_label=app_label, codename=codename))


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0003_notification_channels"),
        ("registries", "0004_registry_webhooks"),
    ]

    operations = [migrations.RunPython(grant, revoke)]

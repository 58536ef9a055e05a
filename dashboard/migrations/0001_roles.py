"""Create the viewer, operator and admin groups with their permissions."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

# A copy, not an import: a migration must keep doing what it did when it was written.
READ = [
    ("deployments", f"view_{model}")
    for model in ("composeproject", "service", "deploymentrun", "revision", "checkcycle", "activity", "runstep")
]
OPERATE = [("deployments", "operate_service")]
ADMIN = [
    *(("registries", f"{verb}_registry") for verb in ("add", "change", "delete", "view")),
    *(("auth", f"{verb}_user") for verb in ("add", "change", "delete", "view")),
    ("auth", "view_group"),
    ("deployments", "change_service"),
    ("axes", "view_accessattempt"),
    ("axes", "delete_accessattempt"),
]
ROLES = {"viewer": READ, "operator": READ + OPERATE, "admin": READ + OPERATE + ADMIN}


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, wanted in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        for app_label, codename in wanted:
            group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("deployments", "0003_activity_runstep_operate_permission"),
        ("registries", "0001_initial"),
        ("axes", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]

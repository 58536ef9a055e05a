"""The three roles (Django groups) and the permissions the dashboard checks.

viewer reads everything; operator also acts on services (check, deploy, approve, roll back, pin,
ignore); admin also runs Django admin (registries, webhooks, notification channels, users). The groups
are created by the migration `dashboard/0001_roles` (and given later permissions by later migrations);
`assign_role` is what `createuser` and `ensure_admin` use.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, Group, Permission

VIEW = "deployments.view_service"
OPERATE = "deployments.operate_service"

VIEWER, OPERATOR, ADMIN = "viewer", "operator", "admin"
ROLES = (VIEWER, OPERATOR, ADMIN)

# (app_label, codename) per role; each role has the ones before it too.
_READ = [
    ("deployments", f"view_{model}")
    for model in ("composeproject", "service", "deploymentrun", "revision", "checkcycle", "activity", "runstep")
]
_OPERATE = [("deployments", "operate_service")]
_ADMIN = [
    *(("registries", f"{verb}_registry") for verb in ("add", "change", "delete", "view")),
    *(("auth", f"{verb}_user") for verb in ("add", "change", "delete", "view")),
    ("auth", "view_group"),
    ("deployments", "change_service"),  # policy overrides in the admin
    ("deployments", "change_composeproject"),  # a project's maintenance window
    *(("dashboard", f"{verb}_apitoken") for verb in ("add", "change", "view")),  # everyone's API tokens
    ("axes", "view_accessattempt"),
    ("axes", "delete_accessattempt"),  # unlock a locked-out user early
    *(("dashboard", f"{verb}_notificationchannel") for verb in ("add", "change", "delete", "view")),
    ("dashboard", "view_notification"),
    *(("registries", f"{verb}_webhookendpoint") for verb in ("add", "change", "delete", "view")),
    ("registries", "view_webhookdelivery"),
]
ROLE_PERMISSIONS: dict[str, list[tuple[str, str]]] = {
    VIEWER: _READ,
    OPERATOR: [*_READ, *_OPERATE],
    ADMIN: [*_READ, *_OPERATE, *_ADMIN],
}


def assign_role(user: AbstractBaseUser, role: str) -> None:
    """Make `user` a member of exactly one role group; admins are also staff (Django admin access)."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r} (choose {', '.join(ROLES)})")
    user.groups.remove(*Group.objects.filter(name__in=ROLES))
    user.groups.add(role_group(role))
    user.is_staff = role == ADMIN or user.is_superuser
    user.save(update_fields=["is_staff"])


def role_of(user: AbstractBaseUser) -> str:
    """The user's highest role, for display ("" when none)."""
    if user.is_superuser:
        return ADMIN
    names = {group.name for group in user.groups.all()}
    return next((role for role in reversed(ROLES) if role in names), "")


def role_group(role: str) -> Group:
    """The role's group; recreated with its permissions if someone deleted it."""
    group, created = Group.objects.get_or_create(name=role)
    if created:
        for app_label, codename in ROLE_PERMISSIONS[role]:
            group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return group


def role_permission_names(role: str) -> set[str]:
    """The role's permissions as `app_label.codename`, as `has_perm` spells them."""
    return {f"{app_label}.{codename}" for app_label, codename in ROLE_PERMISSIONS.get(role, [])}

"""A service's effective update policy: its `updater.*` labels, overridden by what the admin set."""

from __future__ import annotations

from django.conf import settings

from deployments.models import Service
from registries.tags import TagPolicy, policy_from_labels
from registries.tags.windows import Schedule, WindowError, parse_schedule


def service_policy(service: Service) -> TagPolicy:
    """Labels < admin overrides (policy_overrides, update_mode, pinned_tag, ignored_tags). Raises PolicyError."""
    overrides = dict(service.policy_overrides or {})
    if service.update_mode:
        overrides["update_mode"] = service.update_mode
    return policy_from_labels(
        service.labels, overrides, pinned=service.pinned_tag or None, ignored=service.ignored_tags
    )


def service_schedule(service: Service, policy: TagPolicy) -> Schedule:
    """When automatic deploys of `service` may run: its own window (label or admin override), else its
    project's (admin), else the global `UPDATER_WINDOW`. A manual deploy or a rollback ignores it.

    Raises WindowError for a bad project or global window (a service's own was validated with its policy).
    """
    zone = settings.WINDOW_TIME_ZONE
    if policy.window is not None:
        source = "override" if (service.policy_overrides or {}).get("window") else "label"
        return parse_schedule(policy.window, default_zone=zone, source=source)
    project_window = getattr(service.project, "maintenance_window", "")
    if project_window:
        return parse_schedule(project_window, default_zone=zone, source="project")
    return parse_schedule(settings.MAINTENANCE_WINDOW, default_zone=zone, source="global")


def safe_schedule(service: Service, policy: TagPolicy) -> Schedule | None:
    """`service_schedule`, or None when a window cannot be read (the check reports that as an error)."""
    try:
        return service_schedule(service, policy)
    except WindowError:
        return None

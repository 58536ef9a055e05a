"""A service's effective update policy: its `updater.*` labels, overridden by what the admin set."""

from __future__ import annotations

from deployments.models import Service
from registries.tags import TagPolicy, policy_from_labels


def service_policy(service: Service) -> TagPolicy:
    """Labels < admin overrides (policy_overrides, update_mode, pinned_tag, ignored_tags). Raises PolicyError."""
    overrides = dict(service.policy_overrides or {})
    if service.update_mode:
        overrides["update_mode"] = service.update_mode
    return policy_from_labels(
        service.labels, overrides, pinned=service.pinned_tag or None, ignored=service.ignored_tags
    )

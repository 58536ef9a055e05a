"""Deploying updates that waited for their maintenance window, once it opens.

A check outside a service's window creates no run (`checks._Decisions`); the board shows "Waiting for
window". Every minute `services_due_at_window_opening` looks for services whose window is open now and
whose last check ran before it opened, with an update found and nothing deploying: if there is one,
the periodic task runs a check cycle, which deploys through the usual claim with the observed generation.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import F, Q
from django.utils import timezone

from deployments.models import Service, UpdateMode
from deployments.policy import safe_schedule, service_policy
from registries.tags import PolicyError


def services_due_at_window_opening(*, now: datetime | None = None) -> list[Service]:
    """Services that waited for a window that has opened since their last check (one query)."""
    now = now or timezone.now()
    update_found = (~Q(available_tag="") & ~Q(available_tag=F("current_tag"))) | (
        ~Q(available_digest="") & ~Q(available_digest=F("current_digest"))
    )
    candidates = (
        Service.objects.select_related("project")
        .filter(update_found, is_running=True, active_run__isnull=True, automation_paused="", last_check_error="")
        .exclude(container_state=Service.GONE)
        .exclude(last_checked_at__isnull=True)
        .defer("check_explanation")
    )
    due = []
    for service in candidates:
        try:
            policy = service_policy(service)
        except PolicyError:
            continue
        if policy.update_mode != UpdateMode.AUTO:
            continue
        schedule = safe_schedule(service, policy)
        opened = schedule.opened_at(now) if schedule is not None else None
        if opened is not None and service.last_checked_at < opened:
            due.append(service)
    return due

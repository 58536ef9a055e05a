"""Reads: what the status page and commands show, with explicit select_related."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from deployments.models import CheckCycle, DeploymentRun, Revision, Service, UpdateMode
from deployments.policy import service_policy
from registries.tags import PolicyError

REVISIONS_SHOWN = 5


class ServiceNotFound(LookupError):
    pass


@dataclass(frozen=True)
class ServiceStatus:
    service: Service
    label: str  # Synced · Update available · Deploying… · Blocked · Failed · Unknown
    detail: str
    last_run: DeploymentRun | None

    @property
    def badge(self) -> str:
        """CSS class of the state badge."""
        return BADGES.get(self.label, "unknown")


BADGES = {
    "Synced": "synced",
    "Update available": "update",
    "Deploying…": "deploying",
    "Blocked": "blocked",
    "Failed": "failed",
}


def service_by_key(key: str) -> Service:
    """Find a service by `PROJECT/SERVICE`."""
    project, sep, name = key.partition("/")
    if not sep or not project or not name:
        raise ServiceNotFound(f"expected PROJECT/SERVICE, got {key!r}")
    try:
        return Service.objects.select_related("project", "active_run").get(project__name=project, name=name)
    except Service.DoesNotExist:
        raise ServiceNotFound(f"no service {key!r} has been discovered") from None


def service_status(service: Service, last_run: DeploymentRun | None) -> ServiceStatus:
    """Derive the one state a user sees from the stored facts (nothing is stored twice)."""
    if service.active_run_id:
        return ServiceStatus(service, "Deploying…", f"to {service.active_run.to_tag}", last_run)
    if service.automation_paused:
        return ServiceStatus(service, "Failed", service.automation_paused, last_run)
    if last_run and last_run.state == DeploymentRun.State.FAILED and last_run.to_tag == service.available_tag:
        if last_run.failed_state == DeploymentRun.State.SCANNING:  # the scan gate refused it: scanning.selectors
            return ServiceStatus(service, "Blocked", last_run.error.splitlines()[0] if last_run.error else "", last_run)
        return ServiceStatus(service, "Failed", last_run.error.splitlines()[0] if last_run.error else "", last_run)
    if service.last_check_error:
        return ServiceStatus(service, "Unknown", service.last_check_error, last_run)
    if not service.last_checked_at:
        return ServiceStatus(service, "Unknown", "not checked yet", last_run)
    update = (service.available_tag and service.available_tag != service.current_tag) or (
        service.available_digest and service.available_digest != service.current_digest
    )
    if update:
        mode = _update_mode(service)
        target = service.available_tag if service.available_tag != service.current_tag else "new digest"
        if mode != UpdateMode.AUTO:
            return ServiceStatus(
                service, "Update available", f"{target} (update mode {mode}: deploy it manually)", last_run
            )
        return ServiceStatus(service, "Update available", target, last_run)
    return ServiceStatus(service, "Synced", "", last_run)


def _update_mode(service: Service) -> str:
    try:
        return service_policy(service).update_mode
    except PolicyError:
        return UpdateMode.MANUAL


def service_status_list() -> list[ServiceStatus]:
    services = Service.objects.select_related("project", "active_run").order_by("project__name", "name")
    last_runs: dict[int, DeploymentRun] = {}
    for run in DeploymentRun.objects.filter(service__in=services).order_by("service_id", "-created_at", "-id"):
        last_runs.setdefault(run.service_id, run)
    return [service_status(service, last_runs.get(service.pk)) for service in services]


def recent_revisions(service: Service, limit: int = REVISIONS_SHOWN) -> QuerySet[Revision]:
    return service.revisions.select_related("user", "run").order_by("-created_at", "-id")[:limit]


def last_check_cycle() -> CheckCycle | None:
    return CheckCycle.objects.order_by("-started_at", "-id").first()

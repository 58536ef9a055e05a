"""Reads: what the status page and commands show, with explicit select_related."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import OuterRef, QuerySet, Subquery

from deployments.models import CheckCycle, DeploymentRun, Revision, Service, UpdateMode
from deployments.policy import service_policy
from registries.tags import PolicyError

REVISIONS_SHOWN = 5


class ServiceNotFound(LookupError):
    pass


@dataclass(frozen=True)
class ServiceStatus:
    service: Service
    label: str  # Synced · Update available · Deploying… · Failed · Gone · Unknown (Blocked comes with scanning)
    detail: str
    last_run: DeploymentRun | None

    @property
    def badge(self) -> str:
        """CSS class of the state badge."""
        return BADGES.get(self.label, "unknown")


BADGES = {"Synced": "synced", "Update available": "update", "Deploying…": "deploying", "Failed": "failed"}
RUN_LIST_DEFERRED = ("log", "file_backup")  # large: the status page shows neither


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
    if service.is_gone:
        since = f" since {service.last_seen_at:%Y-%m-%d %H:%M}" if service.last_seen_at else ""
        return ServiceStatus(service, "Gone", f"no container left{since}; not checked", last_run)
    if service.automation_paused:
        return ServiceStatus(service, "Failed", service.automation_paused, last_run)
    if last_run and last_run.state == DeploymentRun.State.FAILED and last_run.to_tag == service.available_tag:
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
    """Every service with its state; only each one's last run is loaded, without logs or backups."""
    last_run_id = DeploymentRun.objects.filter(service=OuterRef("pk")).order_by("-created_at", "-id").values("pk")[:1]
    services = list(
        Service.objects.select_related("project", "active_run")
        .defer(*(f"active_run__{name}" for name in RUN_LIST_DEFERRED))
        .annotate(last_run_id=Subquery(last_run_id))
        .order_by("project__name", "name")
    )
    wanted = [service.last_run_id for service in services if service.last_run_id]
    last_runs = DeploymentRun.objects.defer(*RUN_LIST_DEFERRED).in_bulk(wanted)
    return [service_status(service, last_runs.get(service.last_run_id)) for service in services]


def recent_revisions(service: Service, limit: int = REVISIONS_SHOWN) -> QuerySet[Revision]:
    return service.revisions.select_related("user", "run").order_by("-created_at", "-id")[:limit]


def last_check_cycle() -> CheckCycle | None:
    return CheckCycle.objects.order_by("-started_at", "-id").first()

"""Reads for the API, with explicit select_related; the service state comes from the board's derivation."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from deployments import selectors as board
from deployments.models import CheckCycle, ComposeProject, DeploymentRun, Revision, Service
from scanning.models import ScanReport

RUN_LIST_DEFERRED = ("log", "file_backup", "from_container_ids")


@dataclass(frozen=True)
class ServiceFilters:
    project: str = ""
    state: str = ""  # a state key: synced, update, window, approval, deploying, failed, blocked, gone, unknown
    query: str = ""


def projects() -> QuerySet[ComposeProject]:
    return ComposeProject.objects.select_related("host").order_by("host__name", "name")


def service_rows(filters: ServiceFilters = ServiceFilters()) -> list[board.BoardRow]:
    """Services with their derived state, in three queries whatever their number."""
    services = board.board_services()
    if filters.project:
        services = services.filter(project__name=filters.project)
    rows = board.board_rows(services)
    if filters.state:
        rows = [row for row in rows if row.style.key == filters.state]
    if filters.query:
        needle = filters.query.lower()
        rows = [row for row in rows if needle in f"{row.service.project.name}/{row.service.name}".lower()]
    return rows


def service_row(service_id: int) -> board.BoardRow | None:
    """One service with everything its detail shows (explanation included) and its state."""
    services = (
        Service.objects.select_related("project__host", "active_run")
        .defer("active_run__log", "active_run__file_backup")
        .filter(pk=service_id)
    )
    found = services.first()
    if found is None:
        return None
    last_run = DeploymentRun.objects.defer(*RUN_LIST_DEFERRED).filter(service=found).order_by("-created_at", "-id")
    return board.board_status(found, last_run.first())


def service_for_action(service_id: int) -> Service | None:
    return Service.objects.select_related("project__host", "active_run").filter(pk=service_id).first()


def revisions(service_id: int) -> QuerySet[Revision]:
    return Revision.objects.select_related("user").filter(service_id=service_id).order_by("-created_at", "-id")


def revision_of(service: Service, revision_id: int) -> Revision | None:
    return Revision.objects.filter(service=service, pk=revision_id).first()


def runs(*, service_id: int | None = None, state: str = "") -> QuerySet[DeploymentRun]:
    found = DeploymentRun.objects.select_related("service__project__host", "requested_by").defer(*RUN_LIST_DEFERRED)
    if service_id is not None:
        found = found.filter(service_id=service_id)
    if state:
        found = found.filter(state=state)
    return found.order_by("-created_at", "-id")


def run_detail() -> QuerySet[DeploymentRun]:
    return DeploymentRun.objects.select_related("service__project__host", "requested_by").prefetch_related("steps")


def check_cycles() -> QuerySet[CheckCycle]:
    return CheckCycle.objects.order_by("-started_at", "-id")


def scans(*, service_id: int | None = None) -> QuerySet[ScanReport]:
    found = ScanReport.objects.select_related("service__project__host").defer("report_json", "error_details")
    if service_id is not None:
        found = found.filter(service_id=service_id)
    return found.order_by("-created_at", "-id")

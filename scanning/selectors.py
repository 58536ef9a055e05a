"""Reads for pages, commands and the board: a constant number of queries whatever the number of services."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from deployments.models import DeploymentRun, Service
from scanning.models import GateDecision, ScanReport

SUMMARY_FIELDS = (
    "id",
    "service_id",
    "run_id",
    "trigger",
    "image_reference",
    "image_id",
    "digest",
    "status",
    "error",
    "trivy_version",
    "db_updated_at",
    "counts",
    "created_at",
    "started_at",
    "finished_at",
)


def latest_reports_for_services(service_ids: Iterable[int]) -> dict[int, ScanReport]:
    """The newest scan of the image each service runs now (any status), keyed by service ID. Two queries.

    A candidate the gate scanned but never deployed is not what runs, so it is not shown.
    """
    ids = list(service_ids)
    if not ids:
        return {}
    running = dict(
        Service.objects.filter(pk__in=ids).exclude(current_image_id="").values_list("pk", "current_image_id")
    )
    if not running:
        return {}
    reports = (
        ScanReport.objects.filter(service_id__in=running.keys(), image_id__in=set(running.values()))
        .only(*SUMMARY_FIELDS)
        .order_by("-created_at", "-id")
    )
    latest: dict[int, ScanReport] = {}
    for report in reports:
        if report.image_id == running[report.service_id]:
            latest.setdefault(report.service_id, report)
    return latest


def report_detail(report_id: int) -> ScanReport:
    """One report with its blob, for the report page and downloads (raises ScanReport.DoesNotExist)."""
    return ScanReport.objects.select_related("service__project", "run", "requested_by", "reused_from").get(pk=report_id)


def reports_for_service(service: Service, limit: int = 20) -> QuerySet[ScanReport]:
    return ScanReport.objects.filter(service=service).only(*SUMMARY_FIELDS).order_by("-created_at", "-id")[:limit]


def gate_decisions_for_runs(run_ids: Iterable[int]) -> dict[int, GateDecision]:
    """What the gate decided for each run (the blocking findings for a "Blocked" service). One query."""
    return {decision.run_id: decision for decision in GateDecision.objects.filter(run_id__in=list(run_ids))}


def blocked_run_for(service: Service, digest: str) -> DeploymentRun | None:
    """The service's last run if the scan gate refused it for `digest` (registry digest or image ID)."""
    last = DeploymentRun.objects.filter(service=service).order_by("-created_at", "-id").first()
    if last is None or last.state != DeploymentRun.State.FAILED or last.failed_state != DeploymentRun.State.SCANNING:
        return None
    return last if digest in {last.to_digest, last.to_image_id} else None

"""Reads for pages, commands and the board: a constant number of queries whatever the number of services."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import F, QuerySet

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


def latest_reports_for_services(service_ids: Iterable[int] | None = None) -> dict[int, ScanReport]:
    """The newest scan of the image each service runs now, keyed by service ID, in one query.

    The image is matched in the database (no list of every service's ID), so the board pays one query at
    any size; `service_ids` narrows it (a row's push). A candidate the gate scanned but never deployed is
    not what runs, so it is not shown.
    """
    reports = (
        ScanReport.objects.filter(service__isnull=False, image_id=F("service__current_image_id"))
        .exclude(image_id="")
        .only(*SUMMARY_FIELDS)
        .order_by("-created_at", "-id")
    )
    if service_ids is not None:
        reports = reports.filter(service_id__in=list(service_ids))
    latest: dict[int, ScanReport] = {}
    for report in reports:
        latest.setdefault(report.service_id, report)
    return latest


def reports_for_run(run: DeploymentRun) -> list[ScanReport]:
    """The scans a deploy made: the gate's of its candidate, and the one after it succeeded."""
    return list(ScanReport.objects.filter(run=run).only(*SUMMARY_FIELDS).order_by("created_at", "id"))


def gate_decision_for_run(run: DeploymentRun) -> GateDecision | None:
    return GateDecision.objects.filter(run=run).select_related("report", "baseline").first()


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

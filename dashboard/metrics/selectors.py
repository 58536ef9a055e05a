"""The reads behind /metrics: aggregates over rows every process shares, a constant number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum

from deployments import selectors as board
from deployments.models import CheckCycle, DeploymentRun, Service
from registries.models import RegistryHealth
from scanning.models import ScanReport
from scanning.report import SEVERITIES
from scanning.selectors import latest_reports_for_services

DEPLOY_BUCKETS = (5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0)


@dataclass(frozen=True)
class DurationHistogram:
    buckets: list[tuple[float, int]]  # (upper bound in seconds, cumulative count), without +Inf
    count: int
    total_seconds: float


def services_by_state() -> dict[str, int]:
    """State key (synced, update, window…) -> services in it, every key present. Three queries."""
    counts = {style.key: 0 for style in board.STATE_STYLES.values()}
    for row in board.board_rows(board.board_services()):
        counts[row.style.key] = counts.get(row.style.key, 0) + 1
    return counts


def deploys_by_outcome_and_trigger() -> dict[tuple[str, str], int]:
    """(final state, trigger) -> finished runs, every pair present. One query."""
    counts = {(state, trigger): 0 for state in DeploymentRun.FINAL_STATES for trigger in DeploymentRun.Trigger.values}
    rows = (
        DeploymentRun.objects.filter(state__in=DeploymentRun.FINAL_STATES)
        .values_list("state", "trigger")
        .annotate(n=Count("id"))
        .order_by()
    )
    for state, trigger, number in rows:
        counts[(state, trigger)] = number
    return counts


def deploy_durations() -> dict[str, DurationHistogram]:
    """Outcome -> how long its runs took from the worker's start to the end. One query."""
    duration = ExpressionWrapper(F("finished_at") - F("started_at"), output_field=DurationField())
    per_bucket = {
        f"le_{index}": Count("id", filter=Q(duration__lte=timedelta(seconds=bound)))
        for index, bound in enumerate(DEPLOY_BUCKETS)
    }
    rows = (
        DeploymentRun.objects.filter(
            state__in=DeploymentRun.FINAL_STATES, started_at__isnull=False, finished_at__isnull=False
        )
        .annotate(duration=duration)
        .values("state")
        .annotate(count=Count("id"), total=Sum("duration"), **per_bucket)
        .order_by()
    )
    found = {row["state"]: row for row in rows}
    histograms = {}
    for state in DeploymentRun.FINAL_STATES:
        row = found.get(state, {})
        total = row.get("total") or timedelta(0)
        histograms[str(state)] = DurationHistogram(
            buckets=[(bound, row.get(f"le_{index}", 0)) for index, bound in enumerate(DEPLOY_BUCKETS)],
            count=row.get("count", 0),
            total_seconds=total.total_seconds() if isinstance(total, timedelta) else float(total) / 1e6,
        )
    return histograms


@dataclass(frozen=True)
class CycleFacts:
    last_duration_seconds: float | None
    last_success_at: datetime | None
    running: int


def check_cycle_facts() -> CycleFacts:
    """The last finished cycle's duration, when one last succeeded, and how many run now. Three queries."""
    finished = CheckCycle.objects.filter(finished_at__isnull=False).order_by("-finished_at", "-id")
    last = finished.values_list("started_at", "finished_at").first()
    success = finished.filter(state=CheckCycle.State.SUCCEEDED).values_list("finished_at", flat=True).first()
    running = CheckCycle.objects.filter(state=CheckCycle.State.RUNNING).count()
    duration = (last[1] - last[0]).total_seconds() if last else None
    return CycleFacts(duration, success, running)


def registry_hosts() -> list[RegistryHealth]:
    """Each registry host a check contacted, with its counters and quota. One query."""
    return list(RegistryHealth.objects.order_by("host"))


def scan_findings_by_severity() -> dict[str, int]:
    """Severity -> findings in the latest successful scan of the image each service runs. Three queries."""
    totals = dict.fromkeys(SEVERITIES, 0)
    ids = Service.objects.exclude(container_state=Service.GONE).values_list("pk", flat=True)
    for report in latest_reports_for_services(ids).values():
        if report.status != ScanReport.Status.SUCCEEDED:
            continue
        for severity, number in report.severity_totals.items():
            totals[severity] = totals.get(severity, 0) + number
    return totals

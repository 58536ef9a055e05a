"""The pre-deploy gate: scan the pulled candidate before it replaces what runs, and refuse it by policy.

- absolute: refuse when the candidate has more than THRESHOLD findings at or above SEVERITY;
- differential: refuse only when it has more than THRESHOLD findings at or above SEVERITY that the
  running image does not have (an update that is no worse than what runs always passes).
An operator can let a blocked digest through once (`scan_allow_once`). Rollbacks are never gated:
going back must not wait on a scanner during an incident.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from deployments.events import EventKind, emit
from deployments.models import DeploymentRun
from scanning.models import GateDecision, ScanAllowance, ScanReport
from scanning.report import Finding, at_or_above, findings

FINDINGS_KEPT = 50
SHOWN_IN_SUMMARY = 3


@dataclass(frozen=True)
class ScanVerdict:
    allowed: bool
    summary: str
    details: str = ""


def scan_gate_applies(*, trigger: str) -> bool:
    """Whether the gate scans this deploy (on, and not a rollback)."""
    return settings.SCAN_GATE != "off" and trigger != DeploymentRun.Trigger.ROLLBACK


def absolute_blockers(candidate: Sequence[Finding], *, severity: str, threshold: int) -> list[Finding]:
    """The findings at or above `severity` if there are more than `threshold` of them, else none."""
    severe = at_or_above(candidate, severity)
    return severe if len(severe) > threshold else []


def differential_blockers(
    candidate: Sequence[Finding], running: Sequence[Finding], *, severity: str, threshold: int
) -> list[Finding]:
    """The candidate's findings at or above `severity` the running image lacks, if more than `threshold`."""
    known = {finding.key for finding in running}
    new = [finding for finding in at_or_above(candidate, severity) if finding.key not in known]
    return new if len(new) > threshold else []


def image_scan_gate(
    *, run: DeploymentRun, image_reference: str, on_tick: Callable[[], None] | None = None
) -> ScanVerdict:
    """Decide whether the run's pulled image (`run.to_image_id`) may replace what runs; record why."""
    if not scan_gate_applies(trigger=run.trigger):
        return ScanVerdict(True, "not applied" if settings.SCAN_GATE != "off" else "off")
    policy, severity, threshold = settings.SCAN_GATE, settings.SCAN_GATE_SEVERITY, settings.SCAN_GATE_THRESHOLD
    service = run.service
    candidate = _scan_now(
        run, image_id=run.to_image_id, digest=run.to_digest, reference=image_reference, on_tick=on_tick
    )
    if candidate.status != ScanReport.Status.SUCCEEDED:
        return _decide_on_error(run, f"the candidate could not be scanned: {candidate.error}", candidate)
    found = findings(_parsed(candidate))
    baseline, running_id = None, ""
    if policy == GateDecision.Policy.ABSOLUTE:
        blockers = absolute_blockers(found, severity=severity, threshold=threshold)
        described = f"{len(blockers)} findings at or above {severity} (more than {threshold} allowed)"
    else:
        running_id = run.from_image_id or service.current_image_id
        running: list[Finding] = []
        if running_id == run.to_image_id:
            running = found
        elif running_id:
            baseline = _scan_now(
                run, image_id=running_id, digest=run.from_digest, reference=service.image, on_tick=on_tick
            )
            if baseline.status != ScanReport.Status.SUCCEEDED:
                return _decide_on_error(run, f"the running image could not be scanned: {baseline.error}", candidate)
            running = findings(_parsed(baseline))
        blockers = differential_blockers(found, running, severity=severity, threshold=threshold)
        described = f"{len(blockers)} new findings at or above {severity} that the running image does not have"
    if not blockers:
        severe = len(at_or_above(found, severity))
        summary = f"passed ({policy}, {severity}): {severe} findings at or above {severity}"
        if policy == GateDecision.Policy.DIFFERENTIAL:
            summary += ", none new" if running_id else " (nothing runs now to compare with)"
        return _record(run, allowed=True, summary=summary, blockers=[], report=candidate, baseline=baseline)
    listed = "; ".join(finding.describe() for finding in blockers[:SHOWN_IN_SUMMARY])
    more = f"; and {len(blockers) - SHOWN_IN_SUMMARY} more" if len(blockers) > SHOWN_IN_SUMMARY else ""
    return _record(
        run,
        allowed=False,
        summary=f"{described}: {listed}{more}",
        blockers=blockers,
        report=candidate,
        baseline=baseline,
    )


def _scan_now(
    run: DeploymentRun, *, image_id: str, digest: str, reference: str, on_tick: Callable[[], None] | None
) -> ScanReport:
    """Scan `image_id` inside the deploy (reusing a recent scan of it), heartbeating the run meanwhile."""
    from scanning.services import scan_execute, scan_prepare

    report = scan_prepare(
        run.service, image_id=image_id, digest=digest, reference=reference, trigger=ScanReport.Trigger.GATE, run=run
    )
    deadline = time.monotonic() + settings.SCAN_TIMEOUT + 60
    while report.status in ScanReport.ACTIVE and time.monotonic() < deadline:
        if report.status == ScanReport.Status.PENDING:
            scan_execute(report.pk, on_tick=on_tick, wait_for_slot=max(0.0, deadline - time.monotonic()))
        else:  # someone else is scanning this image right now: wait for their result
            if on_tick:
                on_tick()
            time.sleep(1)
        report.refresh_from_db()
    if report.status in ScanReport.ACTIVE:
        report.error = "no scan slot became free in time (UPDATER_SCAN_CONCURRENCY)"
    return report


def _parsed(report: ScanReport) -> dict:
    return json.loads(report.report_bytes())


def _decide_on_error(run: DeploymentRun, problem: str, report: ScanReport | None) -> ScanVerdict:
    if settings.SCAN_GATE_ON_ERROR == "allow":
        summary = f"{problem}; let through (UPDATER_SCAN_GATE_ON_ERROR=allow)"
        return _record(run, allowed=True, summary=summary, blockers=[], report=report, baseline=None)
    return _record(run, allowed=False, summary=problem, blockers=[], report=report, baseline=None)


def _record(
    run: DeploymentRun,
    *,
    allowed: bool,
    summary: str,
    blockers: list[Finding],
    report: ScanReport | None,
    baseline: ScanReport | None,
) -> ScanVerdict:
    allowance = None if allowed else _use_allowance(run)
    if allowance is not None:
        who = allowance.created_by.get_username() if allowance.created_by else "an operator"
        summary = f"allowed once by {who} despite: {summary}"
    decision = GateDecision.objects.create(
        run=run,
        service=run.service,
        policy=settings.SCAN_GATE,
        severity=settings.SCAN_GATE_SEVERITY,
        threshold=settings.SCAN_GATE_THRESHOLD,
        allowed=allowed or allowance is not None,
        summary=summary,
        findings=[finding.to_dict() for finding in blockers[:FINDINGS_KEPT]],
        findings_total=len(blockers),
        report=report,
        baseline=baseline,
        allowance=allowance,
    )
    if not decision.allowed:
        emit(
            EventKind.BLOCKED_BY_SCAN,
            service_id=run.service_id,
            run_id=run.pk,
            summary=summary,
            report_id=report.pk if report else None,
            digest=run.to_digest,
            findings=decision.findings[:SHOWN_IN_SUMMARY],
        )
    details = "\n".join(finding.describe() for finding in blockers[:FINDINGS_KEPT])
    return ScanVerdict(decision.allowed, summary, details)


def _use_allowance(run: DeploymentRun) -> ScanAllowance | None:
    """Consume an unused allowance for the candidate's digest or image ID (conditional: used once only)."""
    keys = [key for key in (run.to_digest, run.to_image_id) if key]
    for allowance in ScanAllowance.objects.select_related("created_by").filter(
        service_id=run.service_id, digest__in=keys, used_at__isnull=True
    ):
        if ScanAllowance.objects.filter(pk=allowance.pk, used_at__isnull=True).update(
            used_at=timezone.now(), used_by_run=run
        ):
            return allowance
    return None

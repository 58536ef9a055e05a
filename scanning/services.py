"""Scans: request one (or reuse a recent one), run Trivy, record the report; prune; allow a blocked digest once.

The deploy engine calls `image_scan_gate` (scanning.gate) after the pull and before the container is
replaced. Scans after a deploy are queued from the DEPLOY_SUCCEEDED/ROLLED_BACK events and never
touch the deploy.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from deployments.events import Event, EventKind, emit
from deployments.models import DeploymentRun, Service, host_queue
from deployments.services import activity_record
from registries.reference import InvalidReference, parse_reference
from scanning import trivy
from scanning.gate import ScanVerdict, image_scan_gate, scan_gate_applies
from scanning.models import ScanAllowance, ScanReport
from scanning.report import artifact_facts, count, findings

logger = logging.getLogger(__name__)
Status = ScanReport.Status
SCAN_TASK = "scanning.tasks.scan"
PENDING_REQUEUE_AFTER = timedelta(minutes=10)
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")

__all__ = [
    "ScanRequestError",
    "ScanVerdict",
    "image_scan_gate",
    "scan_after_deploy",
    "scan_allow_once",
    "scan_execute",
    "scan_gate_applies",
    "scan_prepare",
    "scan_request",
]


class ScanRequestError(Exception):
    """A scan cannot be requested (scanning disabled, no image known…)."""


def scan_request(
    service: Service,
    *,
    user: AbstractBaseUser | None = None,
    run: DeploymentRun | None = None,
    trigger: str = ScanReport.Trigger.MANUAL,
    fresh: bool = False,
    queue: bool = True,
) -> ScanReport:
    """Scan the image `service` runs now: reuse a recent scan of the same image, else queue one.

    This is what the dashboard, the API and `manage.py scan` call. `fresh` skips the reuse (a new
    database may know more). The report returned may already be finished (reused) or pending.
    """
    if not settings.SCAN_ENABLED:
        raise ScanRequestError("vulnerability scanning is disabled (set UPDATER_SCAN_ENABLED=true)")
    if not service.current_image_id:
        raise ScanRequestError(f"{service}: no running image is known yet; nothing to scan")
    report = scan_prepare(
        service,
        image_id=service.current_image_id,
        digest=service.current_digest,
        reference=service.image,
        trigger=trigger,
        run=run,
        user=user,
        fresh=fresh,
    )
    if queue and report.status == Status.PENDING:
        enqueue_scan(report.pk)
    if trigger == ScanReport.Trigger.MANUAL:
        reused = " (reusing a recent scan of the same image)" if report.status == Status.SUCCEEDED else ""
        what = f"scan {report.pk} of {service.image or report.image_id}{reused}"
        activity_record(user, "scan", service, detail=what)
    return report


def enqueue_scan(report_id: int) -> None:
    """Queue a scan to the agent of the host that has the image (Trivy reads it from the local engine)."""
    from updater_project.celery import app

    host = ScanReport.objects.filter(pk=report_id).values_list("service__project__host__name", flat=True).first()
    queue = host_queue(host) if host else None
    transaction.on_commit(lambda: app.send_task(SCAN_TASK, args=[report_id], queue=queue))


def scan_prepare(
    service: Service,
    *,
    image_id: str,
    digest: str,
    reference: str,
    trigger: str,
    run: DeploymentRun | None = None,
    user: AbstractBaseUser | None = None,
    fresh: bool = False,
) -> ScanReport:
    """The report for this image: one in flight, a recent one (reused), or a new pending one."""
    in_flight = ScanReport.objects.filter(service=service, image_id=image_id, status__in=ScanReport.ACTIVE).first()
    if in_flight is not None:
        return in_flight
    recent = None if fresh else reusable_report(image_id=image_id, digest=digest)
    if recent is not None and recent.service_id == service.pk:
        return recent
    if recent is not None:
        return _copy_for_service(recent, service=service, run=run, trigger=trigger, user=user)
    return ScanReport.objects.create(
        service=service,
        run=run,
        requested_by=user if user is not None and user.is_authenticated else None,
        trigger=trigger,
        image_reference=reference,
        image_id=image_id,
        digest=digest,
        scanners=list(settings.SCAN_SCANNERS),
        severities=list(settings.SCAN_SEVERITIES),
    )


def reusable_report(*, image_id: str, digest: str) -> ScanReport | None:
    """A succeeded scan of the same image (ID or digest) with today's options, within UPDATER_SCAN_REUSE_SECONDS."""
    if settings.SCAN_REUSE_SECONDS <= 0:
        return None
    since = timezone.now() - timedelta(seconds=settings.SCAN_REUSE_SECONDS)
    same_image = Q(image_id=image_id) | (Q(digest=digest) if digest else Q(pk__in=[]))
    candidates = ScanReport.objects.filter(same_image, status=Status.SUCCEEDED, finished_at__gte=since)
    for report in candidates.order_by("-finished_at", "-id")[:5]:
        if set(report.scanners) == set(settings.SCAN_SCANNERS) and set(report.severities) == set(
            settings.SCAN_SEVERITIES
        ):
            return report
    return None


def _copy_for_service(
    source: ScanReport, *, service: Service, run: DeploymentRun | None, trigger: str, user: AbstractBaseUser | None
) -> ScanReport:
    """Another service runs the same image: give it its own row with the same report (no second scan)."""
    copy = ScanReport.objects.create(
        service=service,
        run=run,
        requested_by=user if user is not None and user.is_authenticated else None,
        trigger=trigger,
        image_reference=service.image or source.image_reference,
        image_id=source.image_id,
        digest=source.digest,
        scanners=source.scanners,
        severities=source.severities,
        status=Status.SUCCEEDED,
        trivy_version=source.trivy_version,
        db_updated_at=source.db_updated_at,
        counts=source.counts,
        report_json=source.report_json,
        report_size=source.report_size,
        reused_from=source,
        started_at=source.started_at,
        finished_at=source.finished_at,
    )
    _emit_finished(copy)
    return copy


def scan_execute(report_id: int, *, on_tick: Callable[[], None] | None = None, wait_for_slot: float = 0.0) -> bool:
    """Run Trivy for a pending report and record the outcome. False: no scan slot was free (try later).

    Trivy's failures end the report as failed with a readable reason; they never raise.
    """
    from scanning.slots import scan_slot

    report = ScanReport.objects.select_related("service").filter(pk=report_id).first()
    if report is None or report.status != Status.PENDING:
        return True
    with scan_slot(wait_seconds=wait_for_slot, on_tick=on_tick) as free:
        if not free:
            return False
        now = timezone.now()
        if not ScanReport.objects.filter(pk=report_id, status=Status.PENDING).update(
            status=Status.RUNNING, started_at=now
        ):
            return True  # another worker took it
        report.status, report.started_at = Status.RUNNING, now
        _scan(report, on_tick)
    return True


def _scan(report: ScanReport, on_tick: Callable[[], None] | None) -> None:
    try:
        result = trivy.scan_image(report.image_id, trivy.TrivyOptions.from_settings(), on_tick=on_tick)
    except trivy.TrivyError as exc:
        _finish_failed(report, str(exc), exc.output)
    except SoftTimeLimitExceeded:
        _finish_failed(report, "the scan ran out of time (task soft time limit)")
    except BaseException as exc:  # a heartbeat's StaleRun, a bug: never leave the report running
        _finish_failed(report, f"scan interrupted: {exc.__class__.__name__}: {exc}")
        raise
    else:
        _finish_succeeded(report, result)


def _finish_succeeded(report: ScanReport, result: trivy.ImageScan) -> None:
    found = findings(result.report)
    facts = artifact_facts(result.report)
    report.store_report(result.raw)
    fields = {
        "status": Status.SUCCEEDED,
        "finished_at": timezone.now(),
        "counts": count(found),
        "report_json": report.report_json,
        "report_size": report.report_size,
        "trivy_version": result.version[:32],
        "db_updated_at": result.db_updated_at,
        "digest": report.digest or _registry_digest(facts.repo_digests, report.image_reference),
        "error": "",
    }
    if ScanReport.objects.filter(pk=report.pk, status=Status.RUNNING).update(**fields):
        for name, value in fields.items():
            setattr(report, name, value)
        logger.info("scan %s of %s: %s findings in %.1fs", report.pk, report.image_id[:19], len(found), result.seconds)
        _emit_finished(report)


def _registry_digest(repo_digests: tuple[str, ...], reference: str) -> str:
    """The digest the image was pulled as from `reference`'s repository ("" if it lists none for it)."""
    try:
        wanted = parse_reference(reference).name
    except InvalidReference:
        return ""
    for entry in repo_digests:
        name, _, digest = entry.partition("@")
        try:
            if parse_reference(name, default_tag=None).name == wanted:
                return digest
        except InvalidReference:
            continue
    return ""


def _finish_failed(report: ScanReport, error: str, details: str = "") -> None:
    fields = {"status": Status.FAILED, "finished_at": timezone.now(), "error": error[:1000], "error_details": details}
    if ScanReport.objects.filter(pk=report.pk, status__in=ScanReport.ACTIVE).update(**fields):
        for name, value in fields.items():
            setattr(report, name, value)
        logger.warning("scan %s of %s failed: %s", report.pk, report.image_id[:19], error)
        _emit_finished(report)


def scan_mark_failed(report_id: int, error: str) -> None:
    """End an unfinished report as failed (a task's last resort)."""
    report = ScanReport.objects.filter(pk=report_id).first()
    if report is not None:
        _finish_failed(report, error)


def _emit_finished(report: ScanReport) -> None:
    emit(
        EventKind.SCAN_FINISHED,
        service_id=report.service_id,
        run_id=report.run_id,
        report_id=report.pk,
        status=report.status,
        image_reference=report.image_reference,
        digest=report.digest,
        counts=report.counts,
        error=report.error,
    )


def scan_after_deploy(event: Event) -> None:
    """Subscriber: after a deploy or rollback succeeds, scan the image that now runs (queued, never blocking)."""
    if not settings.SCAN_ENABLED or event.service_id is None:
        return
    service = Service.objects.select_related("project").filter(pk=event.service_id).first()
    if service is None or not service.current_image_id:
        return
    run = DeploymentRun.objects.filter(pk=event.run_id).first() if event.run_id else None
    scan_request(service, run=run, trigger=ScanReport.Trigger.DEPLOY)


@dataclass(frozen=True)
class Reconciled:
    requeue: list[int]
    failed: list[int]


def scan_reconcile() -> Reconciled:
    """Requeue pending scans whose message was lost; fail running scans whose worker died."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.SCAN_TIMEOUT + 300)
    failed = []
    for report in ScanReport.objects.filter(status=Status.RUNNING, started_at__lt=stale):
        _finish_failed(report, "the scan's worker stopped (killed or restarted) before it finished")
        failed.append(report.pk)
    requeue = list(
        ScanReport.objects.filter(status=Status.PENDING, created_at__lt=now - PENDING_REQUEUE_AFTER).values_list(
            "pk", flat=True
        )
    )
    return Reconciled(requeue=requeue, failed=failed)


def scan_reports_prune() -> int:
    """Delete reports older than UPDATER_SCAN_KEEP_DAYS and beyond UPDATER_SCAN_KEEP_PER_SERVICE per service.

    The newest succeeded report of each service is kept whatever its age: it is what the board shows.
    """
    keep = _newest_succeeded_per_service()
    finished = ScanReport.objects.exclude(status__in=ScanReport.ACTIVE)
    cutoff = timezone.now() - timedelta(days=settings.SCAN_KEEP_DAYS)
    doomed = set(finished.filter(created_at__lt=cutoff).exclude(pk__in=keep).values_list("pk", flat=True))
    crowded = (
        ScanReport.objects.filter(service__isnull=False)
        .values("service_id")
        .annotate(n=Count("id"))
        .filter(n__gt=settings.SCAN_KEEP_PER_SERVICE)
    )
    for row in crowded:
        surplus = finished.filter(service_id=row["service_id"]).order_by("-created_at", "-id")
        doomed.update(surplus.values_list("pk", flat=True)[settings.SCAN_KEEP_PER_SERVICE :])
    doomed -= keep
    if doomed:
        ScanReport.objects.filter(pk__in=doomed).delete()
    return len(doomed)


def _newest_succeeded_per_service() -> set[int]:
    newest: dict[int, int] = {}
    rows = ScanReport.objects.filter(status=Status.SUCCEEDED, service__isnull=False).order_by("-created_at", "-id")
    for service_id, pk in rows.values_list("service_id", "pk"):
        newest.setdefault(service_id, pk)
    return set(newest.values())


@dataclass(frozen=True)
class Allowed:
    allowance: ScanAllowance
    run: DeploymentRun | None  # the deploy requested for the blocked tag, if any


def scan_allow_once(
    *,
    service: Service,
    digest: str,
    user: AbstractBaseUser | None = None,
    redeploy: bool = True,
    queue: bool = True,
) -> Allowed:
    """Let `digest` (registry digest or image ID) through the gate once, and retry the deploy it blocked.

    With `redeploy`, if the service's last run was blocked by the scan on that digest, a manual deploy of
    the same tag is requested (and queued unless `queue` is False: the caller runs it).
    """
    from deployments import engine
    from deployments.dispatch import enqueue_deploy
    from scanning.selectors import blocked_run_for

    digest = digest.strip().lower()
    if not DIGEST.fullmatch(digest):
        raise ScanRequestError(f"expected a digest or image ID like sha256:<64 hex digits>, got {digest!r}")
    by = user if user is not None and user.is_authenticated else None
    with transaction.atomic():
        allowance = ScanAllowance.objects.filter(service=service, digest=digest, used_at__isnull=True).first()
        if allowance is None:
            allowance = ScanAllowance.objects.create(service=service, digest=digest, created_by=by)
        emit(EventKind.SERVICE_CHANGED, service_id=service.pk)
    # The allowance stands even if the deploy cannot start now (DeployRequestError): the next one uses it.
    blocked = blocked_run_for(service, digest) if redeploy else None
    run = None
    if blocked is not None:
        run = engine.deployment_request(
            service=service,
            tag=blocked.to_tag,
            digest=blocked.to_digest,
            trigger=DeploymentRun.Trigger.MANUAL,
            user=user,
        )
        if queue:
            enqueue_deploy(run.pk)
    deploying = f"; deploying {run.to_tag} again" if run is not None else ""
    detail = f"{digest[:19]} may pass the scan gate once{deploying}"
    activity_record(user, "scan_allow", service, run=run, detail=detail)
    return Allowed(allowance=allowance, run=run)

"""Recovery of runs a worker abandoned (killed, timed out, Redis lost the message).

Postgres/SQLite is the source of truth: a periodic reconcile re-queues pending runs whose message
may be lost (and fails one re-queued `DEPLOY_MAX_REQUEUES` times without a worker starting it), and
takes over active runs whose worker stopped reporting (heartbeat older than `DEPLOY_STALE_AFTER`)
once it can fence the old worker out: a run verified before its worker died is recorded as it is,
anything else is undone.

A run is only ever recovered on its own host's agent (`hosts.serves`): its containers and Compose file
are there. A host whose agent is down keeps its runs as they are until that agent comes back.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from deployments import docker, hosts
from deployments.engine import claims, sync
from deployments.engine.backoff import fields_after_failure
from deployments.engine.restore import restore_and_fail
from deployments.engine.state import RunContext, StaleRun, finish, take_over
from deployments.engine.targets import compose_target
from deployments.locks import project_lease
from deployments.models import ComposeProject, DeploymentRun, DockerHost, Service

logger = logging.getLogger(__name__)
State = DeploymentRun.State


@dataclass
class ReconcileResult:
    requeue: list[int] = field(default_factory=list)
    recovered: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    released: int = 0


def _stale_before(now: datetime) -> datetime:
    return now - timedelta(seconds=settings.DEPLOY_STALE_AFTER)


def reconcile(now: datetime | None = None, *, host: DockerHost | None = None) -> ReconcileResult:
    """Reconcile the runs of `host` (default: the host this process serves); never another host's."""
    now = now or timezone.now()
    host = host or hosts.local_host()
    stale_before = _stale_before(now)
    result = ReconcileResult()
    if host is None or not hosts.serves(host):
        result.released = release_finished_claims()
        return result
    runs = DeploymentRun.objects.filter(service__project__host=host)
    pending = runs.select_related("service__project__host").filter(state=State.PENDING, created_at__lt=stale_before)
    for run in pending.filter(Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=stale_before)):
        if run.requeue_count >= settings.DEPLOY_MAX_REQUEUES:
            if fail_pending(run, f"no worker started this deploy after {run.requeue_count} re-queues"):
                result.failed.append(run.pk)
            continue
        # Stamp it so it is re-queued once per stale period, not on every reconcile.
        if DeploymentRun.objects.filter(pk=run.pk, state=State.PENDING, generation=run.generation).update(
            heartbeat_at=now, requeue_count=run.requeue_count + 1
        ):
            result.requeue.append(run.pk)
    abandoned = runs.filter(state__in=DeploymentRun.ACTIVE_STATES, heartbeat_at__lt=stale_before)
    for run_id in abandoned.exclude(state=State.PENDING).values_list("pk", flat=True):
        if recover_run(run_id, now=now):
            result.recovered.append(run_id)
    result.released = release_finished_claims()
    return result


def release_finished_claims() -> int:
    """Claims left by finished runs (database only: safe on any host)."""
    finished = DeploymentRun.FINAL_STATES
    released = Service.objects.filter(active_run__state__in=finished).update(active_run=None)
    return released + ComposeProject.objects.filter(deploy_run__state__in=finished).update(deploy_run=None)


def fail_pending(run: DeploymentRun, error: str) -> bool:
    """End a pending run as failed (nothing was changed yet) and release its service; False if it moved on."""
    ctx = RunContext(run)
    ctx.note(f"failed before starting: {error}")
    run.failed_state = State.PENDING
    try:
        finish(
            ctx,
            State.FAILED,
            error=error,
            failed_state=State.PENDING,
            restored=True,
            service_fields=fields_after_failure(run, error),
        )
    except StaleRun:
        return False
    return True


def recover_run(run_id: int, *, now: datetime | None = None) -> bool:
    """Take over an active run whose worker is gone; do nothing while its worker is alive."""
    run = DeploymentRun.objects.select_related("service__project__host").filter(pk=run_id).first()
    if run is None or run.state not in DeploymentRun.ACTIVE_STATES or run.state == State.PENDING:
        return False
    if not hosts.serves(run.service.project.host):
        return False  # its engine and files are on another host: only that host's agent may touch them
    if run.heartbeat_at and run.heartbeat_at >= _stale_before(now or timezone.now()):
        return False
    with project_lease(run.service.project_id) as held:
        if held is None:
            return False
        if claims.holder_of(run) is not None:
            return False  # another deploy works in this project: try again later
        try:
            run = take_over(run)
            claims.claim_project(run)
        except StaleRun:
            return False
        state_name = run.get_state_display().lower()
        ctx = RunContext(run, on_heartbeat=held.renew)
        try:
            if run.verified_at and _target_running(run):
                ctx.note(f"the worker stopped after verifying ({state_name}); recording the deploy it verified")
                sync.record_success(ctx, note="recorded by the reconciler")
            else:
                ctx.note(f"the worker running this deploy stopped while {state_name}; undoing it")
                restore_and_fail(ctx, f"worker lost while {state_name}")
        except StaleRun as exc:
            logger.warning("run %s: recovery stopped, %s", run_id, exc)
            return False
    return True


def _target_running(run: DeploymentRun) -> bool:
    """The verified image still runs: recovery records what it observes instead of undoing it."""
    target = compose_target(run.service)
    try:
        containers = docker.list_compose_containers(target.project, run.service.name)
    except docker.DockerError:
        return False
    running = [c for c in containers if c.status == "running"]
    return bool(running) and all(c.image_id == run.to_image_id for c in running)

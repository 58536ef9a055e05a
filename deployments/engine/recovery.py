"""Recovery of runs a worker abandoned (killed, timed out, Redis lost the message).

Postgres/SQLite is the source of truth: a periodic reconcile re-queues pending runs whose message
may be lost, and undoes active runs whose worker stopped reporting (heartbeat older than
`DEPLOY_STALE_AFTER`) once it can take the service's lease and fence the old worker out.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from deployments.engine.restore import restore_and_fail
from deployments.engine.state import RunContext, StaleRun, take_over
from deployments.locks import project_lease
from deployments.models import DeploymentRun, Service

logger = logging.getLogger(__name__)
State = DeploymentRun.State


@dataclass
class ReconcileResult:
    requeue: list[int] = field(default_factory=list)
    recovered: list[int] = field(default_factory=list)
    released: int = 0


def _stale_before(now: datetime) -> datetime:
    return now - timedelta(seconds=settings.DEPLOY_STALE_AFTER)


def reconcile(now: datetime | None = None) -> ReconcileResult:
    now = now or timezone.now()
    stale_before = _stale_before(now)
    result = ReconcileResult()
    pending = DeploymentRun.objects.filter(state=State.PENDING, created_at__lt=stale_before).filter(
        Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=stale_before)
    )
    for run in pending:
        # Stamp it so it is re-queued once per stale period, not on every reconcile.
        if DeploymentRun.objects.filter(pk=run.pk, state=State.PENDING, generation=run.generation).update(
            heartbeat_at=now
        ):
            result.requeue.append(run.pk)
    abandoned = DeploymentRun.objects.filter(state__in=DeploymentRun.ACTIVE_STATES, heartbeat_at__lt=stale_before)
    for run_id in abandoned.exclude(state=State.PENDING).values_list("pk", flat=True):
        if recover_run(run_id, now=now):
            result.recovered.append(run_id)
    result.released = Service.objects.filter(active_run__state__in=DeploymentRun.FINAL_STATES).update(active_run=None)
    return result


def recover_run(run_id: int, *, now: datetime | None = None) -> bool:
    """Undo an active run whose worker is gone; do nothing while its worker is alive."""
    run = DeploymentRun.objects.select_related("service__project").filter(pk=run_id).first()
    if run is None or run.state not in DeploymentRun.ACTIVE_STATES or run.state == State.PENDING:
        return False
    if run.heartbeat_at and run.heartbeat_at >= _stale_before(now or timezone.now()):
        return False
    with project_lease(run.service.project_id) as held:
        if held is None:
            return False
        try:
            run = take_over(run)
        except StaleRun:
            return False
        state_name = run.get_state_display().lower()
        ctx = RunContext(run, on_heartbeat=held.renew)
        ctx.note(f"the worker running this deploy stopped while {state_name}; undoing it")
        try:
            restore_and_fail(ctx, f"worker lost while {state_name}")
        except StaleRun as exc:
            logger.warning("run %s: recovery stopped, %s", run_id, exc)
            return False
    return True

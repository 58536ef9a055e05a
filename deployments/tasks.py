"""Thin Celery tasks: take IDs, call one service, return quietly when there is nothing to do."""

from __future__ import annotations

import logging

from celery import shared_task

from deployments import checks, engine, window_checks
from deployments.dispatch import enqueue_deploy
from deployments.locks import lease

logger = logging.getLogger(__name__)
CHECK_LEASE_SECONDS = 60  # renewed every checks.HEARTBEAT_SECONDS while a cycle runs


@shared_task(name="deployments.tasks.open_windows", ignore_result=True)
def open_windows() -> None:
    """Every minute: when a maintenance window opened for a service that waited for it, check (and deploy) now."""
    due = window_checks.services_due_at_window_opening()
    if due:
        logger.info("maintenance window open for %s: checking now", ", ".join(str(service) for service in due))
        check_all()


@shared_task(name="deployments.tasks.check_all", ignore_result=True)
def check_all() -> None:
    """Beat's periodic check; a cycle still running (slow registry) makes the next one skip."""
    # The running cycle renews the lease every few seconds, so it can be short: a dead worker's lease
    # frees the next cycle quickly, and a long cycle keeps it.
    with lease("check-cycle", seconds=CHECK_LEASE_SECONDS) as held:
        if held is None:
            logger.info("a check cycle is already running; skipping")
            return
        cycle, _ = checks.run_cycle(on_tick=held.renew)
        checks.prune_cycles()
        logger.info(
            "check cycle %s: %s services, %s registry requests, %s deploys queued",
            cycle.pk,
            cycle.services_checked,
            cycle.registry_requests,
            cycle.deploys_queued,
        )


@shared_task(name="deployments.tasks.deploy", ignore_result=True)
def deploy(run_id: int) -> None:
    """Run one deploy. While another deploy holds its Compose project the run waits, pending: the
    deploy that releases the project queues it (and the reconciler, should that message be lost).
    No delayed retry: a message held for later stays unacknowledged in the worker."""
    if not engine.execute(run_id):
        logger.info("run %s waits for its project", run_id)


@shared_task(name="deployments.tasks.reconcile", ignore_result=True)
def reconcile() -> None:
    """Re-queue pending runs whose message was lost and undo runs whose worker died."""
    result = engine.reconcile()
    for run_id in result.requeue:
        enqueue_deploy(run_id)
    if result.requeue or result.recovered or result.failed or result.released:
        logger.warning(
            "reconcile: requeued %s, recovered %s, failed %s, released %s",
            result.requeue,
            result.recovered,
            result.failed,
            result.released,
        )


@shared_task(name="deployments.tasks.check_service", ignore_result=True)
def check_service(service_id: int) -> None:
    """A user's "check now" (or a policy change): check one service at once, outside the beat schedule."""
    from deployments.models import Service

    service = Service.objects.select_related("project").filter(pk=service_id).first()
    if service is None:
        return
    checks.run_cycle(service_key=f"{service.project.name}/{service.name}")


@shared_task(name="deployments.tasks.check_pushed", ignore_result=True, soft_time_limit=300, time_limit=360)
def check_pushed(delivery_id: int) -> None:
    """A registry push webhook: check the services on the pushed repositories now, through the same
    decisions as the periodic check (policy, approval, backoff)."""
    from registries.webhooks import services as webhooks

    repositories = webhooks.webhook_check_begin(delivery_id=delivery_id)
    if repositories is None:
        return
    try:
        cycle, outcomes = checks.run_cycle(repositories=repositories)
        lines = [f"{o.service}: {o.error or o.action}" for o in outcomes]
        result = "; ".join(lines) if lines else "no running service uses these repositories"
        if cycle.state == cycle.State.FAILED:
            result = f"check failed: {'; '.join(cycle.errors)}"
    except Exception as exc:
        webhooks.webhook_check_done(delivery_id=delivery_id, result=f"check failed: {exc.__class__.__name__}")
        raise
    webhooks.webhook_check_done(delivery_id=delivery_id, result=result[:2000])
    webhooks.webhook_deliveries_prune()

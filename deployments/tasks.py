"""Thin Celery tasks: take IDs, call one service, return quietly when there is nothing to do.

Beat's tasks run on the default queue (central); what needs a host's engine or files (deploys,
discovery, reconciling, scans) runs on that host's agent, queued through `deployments.dispatch`.
"""

from __future__ import annotations

import logging

from celery import Task, shared_task
from django.conf import settings

from deployments import checks, engine, hosts, window_checks
from deployments.discovery import discover_services
from deployments.dispatch import (
    DISCOVER_TASK,
    RECONCILE_HOST_TASK,
    agent_hosts,
    enqueue_deploy,
    enqueue_host_tasks,
)
from deployments.locks import lease
from deployments.models import DockerHost

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
    """Beat's periodic check; a cycle still running (slow registry) makes the next one skip.

    Each other online host's agent is asked to discover its engine (the next cycle sees what it
    found); this process discovers its own host inline, then the registries are asked once for all.
    """
    # The running cycle renews the lease every few seconds, so it can be short: a dead worker's lease
    # frees the next cycle quickly, and a long cycle keeps it.
    with lease("check-cycle", seconds=CHECK_LEASE_SECONDS) as held:
        if held is None:
            logger.info("a check cycle is already running; skipping")
            return
        enqueue_host_tasks(DISCOVER_TASK, agent_hosts(), expires=float(settings.CHECK_INTERVAL))
        cycle, _ = checks.run_cycle(on_tick=held.renew)
        checks.prune_cycles()
        logger.info(
            "check cycle %s: %s services, %s registry requests, %s deploys queued, hosts offline: %s",
            cycle.pk,
            cycle.services_checked,
            cycle.registry_requests,
            cycle.deploys_queued,
            ", ".join(cycle.hosts_offline) or "none",
        )


@shared_task(name="deployments.tasks.discover_host", ignore_result=True)
def discover_host(host_id: int) -> None:
    """On a host's agent: discover the Compose services of its engine."""
    host = DockerHost.objects.filter(pk=host_id).first()
    if host is None or not hosts.serves(host):
        logger.warning("discover_host(%s): this worker does not serve that host; ignored", host_id)
        return
    result = discover_services(host=host)
    if result.created or result.errors:
        logger.info("host %s: new services %s, errors %s", host, result.created, result.errors)


@shared_task(name="deployments.tasks.deploy", bind=True, ignore_result=True)
def deploy(self: Task, run_id: int) -> None:
    """Run one deploy. While another deploy holds its Compose project the run waits, pending: the
    deploy that releases the project queues it (and the reconciler, should that message be lost).
    No delayed retry: a message held for later stays unacknowledged in the worker.
    A deploy of another host (a message on the wrong queue) is sent on to that host's agent."""
    delivered_to = (self.request.delivery_info or {}).get("routing_key")
    if not engine.execute(run_id, reroute_from=delivered_to):
        logger.info("run %s waits for its project", run_id)


@shared_task(name="deployments.tasks.reconcile", ignore_result=True)
def reconcile() -> None:
    """Beat: reconcile this process's host here, and ask every other online host's agent to
    reconcile its own (a host's runs are only ever recovered on that host)."""
    enqueue_host_tasks(RECONCILE_HOST_TASK, agent_hosts(), expires=float(settings.RECONCILE_INTERVAL))
    if not reconcile_own_host():
        engine.release_finished_claims()


def reconcile_own_host() -> bool:
    """Reconcile the host this process serves (False if it serves none): beat's turn, and an agent's start."""
    own = hosts.local_host()
    if own is None:
        return False
    _reconcile(own)
    return True


@shared_task(name="deployments.tasks.reconcile_host", ignore_result=True)
def reconcile_host(host_id: int) -> None:
    """On a host's agent (queued by beat, and by the agent itself when it starts)."""
    host = DockerHost.objects.filter(pk=host_id).first()
    if host is None or not hosts.serves(host):
        logger.warning("reconcile_host(%s): this worker does not serve that host; ignored", host_id)
        return
    _reconcile(host)


def _reconcile(host: DockerHost) -> None:
    result = engine.reconcile(host=host)
    for run_id in result.requeue:
        enqueue_deploy(run_id, host=host.name)
    if result.requeue or result.recovered or result.failed or result.released:
        logger.warning(
            "reconcile %s: requeued %s, recovered %s, failed %s, released %s",
            host,
            result.requeue,
            result.recovered,
            result.failed,
            result.released,
        )


@shared_task(name="deployments.tasks.watch_hosts", ignore_result=True)
def watch_hosts() -> None:
    """Beat: announce hosts whose agent went silent or came back."""
    hosts.hosts_watch()


@shared_task(name="deployments.tasks.check_service", ignore_result=True)
def check_service(service_id: int) -> None:
    """A user's "check now" (or a policy change): check one service at once, outside the beat schedule."""
    from deployments.models import Service

    if not Service.objects.filter(pk=service_id).exists():
        return
    checks.run_cycle(service_id=service_id)


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

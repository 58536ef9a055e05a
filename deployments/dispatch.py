"""Queueing: only after the transaction that created the work commits, and to the agent of its host.

Each Docker host's agent consumes `host.<name>` (the default worker consumes the local host's queue
beside the default one): deploys, discoveries, reconciles and scans of a host go there, because its
engine and its Compose files are there.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction

from deployments.models import DeploymentRun, DockerHost, host_queue, local_host_name
from updater_project.celery import app

logger = logging.getLogger(__name__)
DEPLOY_TASK = "deployments.tasks.deploy"
DISCOVER_TASK = "deployments.tasks.discover_host"
RECONCILE_HOST_TASK = "deployments.tasks.reconcile_host"


def enqueue_deploy(run_id: int, *, host: str | None = None) -> None:
    """Queue a deploy to its service's host (`host`: its name, when the caller has it at hand)."""
    if host is None:
        host = (
            DeploymentRun.objects.filter(pk=run_id).values_list("service__project__host__name", flat=True).first()
            or local_host_name()
        )
    queue = host_queue(host)
    # robust: with the broker down the message is lost, the pending run is not (the reconciler re-queues it)
    transaction.on_commit(lambda: app.send_task(DEPLOY_TASK, args=[run_id], queue=queue), robust=True)


def enqueue_host_tasks(task: str, hosts: list[DockerHost], *, expires: float) -> None:
    """Send `task(host_id)` to each host's agent; a message its agent does not take in time is dropped
    (a silent agent must not find a backlog of periodic work when it comes back)."""
    for host in hosts:
        try:
            app.send_task(task, args=[host.pk], queue=host.queue, expires=expires)
        except Exception as exc:  # the broker is down: the central work goes on, the next turn sends again
            logger.warning("could not queue %s for host %s: %s", task, host, exc)


def agent_hosts() -> list[DockerHost]:
    """Hosts served by another process's agent that are online now: they get the periodic fan-out."""
    hosts = DockerHost.objects.exclude(name=settings.LOCAL_HOST) if settings.LOCAL_HOST else DockerHost.objects.all()
    return [host for host in hosts if host.liveness() == DockerHost.Liveness.ONLINE]

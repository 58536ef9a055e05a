"""Docker hosts: which one this process serves, agents' heartbeats and engine facts, and liveness changes.

Every Docker engine has an agent, a Celery worker consuming only `host.<name>` with that engine's
DOCKER_HOST (`manage.py agent --host NAME`). A single-host install's one worker consumes the default
queue and `host.local`, so it is the local host's agent too. An agent writes only its own host's
heartbeat and engine columns; the central beat announces when a host goes silent or comes back.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from deployments import docker
from deployments.events import EventKind, emit
from deployments.models import DockerHost, Service

logger = logging.getLogger(__name__)


def local_host() -> DockerHost | None:
    """The host whose engine this process reaches, or None on a central server without one."""
    if not settings.LOCAL_HOST:
        return None
    host, _ = DockerHost.objects.get_or_create(name=settings.LOCAL_HOST)
    return host


def serves(host: DockerHost | str) -> bool:
    """True if this process may act on `host`'s engine and files (its DOCKER_HOST is that host's)."""
    name = host if isinstance(host, str) else host.name
    return bool(settings.LOCAL_HOST) and name == settings.LOCAL_HOST


@dataclass(frozen=True)
class EngineFacts:
    engine_version: str = ""
    api_version: str = ""
    engine_id: str = ""
    compose_version: str = ""
    error: str = ""


def engine_facts(*, with_compose: bool = False) -> EngineFacts:
    """What the local engine says about itself (versions, ID); an unreachable engine is an error, not a raise."""
    try:
        version = docker.engine_version()
        compose = docker.compose_command().version if with_compose else ""
    except docker.DockerError as exc:
        return EngineFacts(error=str(exc))
    return EngineFacts(version["version"], version["api_version"], version["engine_id"], compose)


def host_register(name: str, *, agent: str, facts: EngineFacts) -> DockerHost:
    """An agent starting: its host row (created on first start), engine facts and a first heartbeat."""
    host, _ = DockerHost.objects.get_or_create(name=name)
    values = {
        "docker_host": settings.DOCKER_HOST or os.environ.get("DOCKER_HOST", "") or "unix:///var/run/docker.sock",
        "engine_version": facts.engine_version or host.engine_version,
        "api_version": facts.api_version or host.api_version,
        "engine_id": facts.engine_id or host.engine_id,
        "compose_version": facts.compose_version or host.compose_version,
        "last_error": facts.error,
    }
    DockerHost.objects.filter(pk=host.pk).update(agent=agent, last_heartbeat_at=timezone.now(), **values)
    host.refresh_from_db()
    logger.info("agent %s serves host %s (engine %s)", agent, name, host.engine_version or "unreachable")
    return host


def host_heartbeat(name: str, *, agent: str, facts: EngineFacts | None = None) -> bool:
    """The agent is alive (and, with `facts`, what its engine says now); False if the row is gone."""
    values: dict[str, object] = {"agent": agent, "last_heartbeat_at": timezone.now()}
    if facts is not None:
        values["last_error"] = facts.error
        if not facts.error:
            values.update(engine_version=facts.engine_version, api_version=facts.api_version)
    return bool(DockerHost.objects.filter(name=name).update(**values))


def engine_conflict(name: str, facts: EngineFacts, *, now: datetime | None = None) -> str:
    """Why an agent must not start for `name`: another engine answers for it right now ("" if none).

    Two machines both calling themselves "local" would otherwise take each other's deploys.
    """
    host = DockerHost.objects.filter(name=name).first()
    if host is None or not facts.engine_id or not host.engine_id or host.engine_id == facts.engine_id:
        return ""
    if host.liveness(now) != DockerHost.Liveness.ONLINE:
        return ""  # the engine was replaced while its agent was down: the new one takes over
    return (
        f"host {name!r} is served right now by agent {host.agent} on another Docker engine "
        f"({host.engine_id[:12]}); give this host its own name"
    )


def hosts_watch(now: datetime | None = None) -> list[tuple[str, bool]]:
    """Announce each host that went offline or came back, once; return (name, offline) per change.

    Liveness is derived from the heartbeat, so nothing changes in the database when an agent goes
    silent: this (on beat, every heartbeat interval) turns the silence into events and live rows.
    """
    changes = []
    for host in DockerHost.objects.all():
        offline = host.liveness(now) == DockerHost.Liveness.OFFLINE
        if offline == host.reported_offline:
            continue
        if not DockerHost.objects.filter(pk=host.pk, reported_offline=host.reported_offline).update(
            reported_offline=offline
        ):
            continue  # another beat announced it
        changes.append((host.name, offline))
        seen = host.last_heartbeat_at.isoformat() if host.last_heartbeat_at else None
        kind = EventKind.HOST_OFFLINE if offline else EventKind.HOST_ONLINE
        emit(kind, host=host.name, last_heartbeat_at=seen)
        for service_id in Service.objects.filter(project__host=host).values_list("pk", flat=True):
            emit(EventKind.SERVICE_CHANGED, service_id=service_id)
        logger.warning("host %s is %s", host.name, "offline" if offline else "back online")
    return changes

"""Discovery: Compose services from the Docker engine's `com.docker.compose.*` container labels."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from deployments import docker
from deployments.engine.targets import image_digest_for
from deployments.models import ComposeProject, Revision, Service
from registries.reference import InvalidReference, parse_reference

logger = logging.getLogger(__name__)
POLICY_LABEL_PREFIX = "updater."


@dataclass
class DiscoveryResult:
    seen: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def discover_services() -> DiscoveryResult:
    """Create or refresh a Service for every Compose service with a container on the engine."""
    result = DiscoveryResult()
    groups: dict[tuple[str, str], list[docker.ContainerInfo]] = defaultdict(list)
    for container in docker.list_compose_containers():
        if container.project and container.service and container.project not in settings.IGNORED_PROJECTS:
            groups[(container.project, container.service)].append(container)
    now = timezone.now()
    seen_ids = []
    for (project_name, service_name), containers in sorted(groups.items()):
        key = f"{project_name}/{service_name}"
        try:
            service, created = _refresh_service(project_name, service_name, containers, now)
        except docker.DockerError as exc:
            result.errors.append(f"{key}: {exc}")
            continue
        seen_ids.append(service.pk)
        result.seen.append(key)
        if created:
            result.created.append(key)
    Service.objects.exclude(pk__in=seen_ids).filter(is_running=True, active_run__isnull=True).update(
        is_running=False, container_state="missing", container_health=""
    )
    return result


def _representative(containers: list[docker.ContainerInfo]) -> docker.ContainerInfo:
    running = [c for c in containers if c.status == "running"]
    return sorted(running or containers, key=lambda c: c.name)[0]


@transaction.atomic
def _refresh_service(
    project_name: str, service_name: str, containers: list[docker.ContainerInfo], now
) -> tuple[Service, bool]:
    container = _representative(containers)
    project, _ = ComposeProject.objects.update_or_create(
        name=project_name,
        defaults={
            "working_dir": container.working_dir,
            "config_files": list(container.config_files),
            "last_seen_at": now,
        },
    )
    service, created = Service.objects.get_or_create(project=project, name=service_name)
    service.last_seen_at = now
    if service.active_run_id:
        # Mid-deploy the containers are in flux; the deploy itself records the outcome.
        service.save(update_fields=["last_seen_at"])
        return service, created
    _apply_container_facts(service, container, containers)
    service.save()
    if not service.revisions.exists() and service.current_tag:
        Revision.objects.create(
            service=service,
            tag=service.current_tag,
            digest=service.current_digest,
            image_id=service.current_image_id,
            trigger=Revision.Trigger.DISCOVERED,
        )
    return service, created


def _apply_container_facts(
    service: Service, container: docker.ContainerInfo, containers: list[docker.ContainerInfo]
) -> None:
    service.image = container.image_ref
    service.current_image_id = container.image_id
    service.container_state = container.status
    service.container_health = container.health
    service.is_running = any(c.status == "running" for c in containers)
    service.labels = {k: v for k, v in container.labels.items() if k.startswith(POLICY_LABEL_PREFIX)}
    if not container.working_dir or not container.config_files:
        service.discovery_error = "the container has no Compose working_dir/config_files labels; it cannot be updated"
        service.repository = ""
        return
    try:
        reference = parse_reference(container.image_ref)
    except InvalidReference as exc:
        service.discovery_error = f"image {container.image_ref!r} cannot be tracked: {exc}"
        service.repository = ""
        return
    service.discovery_error = ""
    service.repository = reference.name
    service.current_tag = reference.tag or ""
    image = docker.image_info(container.image_id)
    service.current_digest = reference.digest or (image_digest_for(image, reference) if image else "")

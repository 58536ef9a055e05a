"""Discovery: Compose services from the Docker engine's `com.docker.compose.*` container labels, in bulk.

Per cycle: one container-list call (plus an inspect for a container whose tag has since moved to another
image), one image inspect per distinct image whose registry digest is not known yet, and a constant number
of queries, whatever the number of services.

Discovery writes only the facts it owns (`FACT_FIELDS`, `last_seen_at`), never while a deploy holds the
service, and only if no deploy claimed it since the rows were read: the rows are read before Docker is
asked and every write is conditional on the `deploy_generation` read then. A claim that commits in between
wins; that service is left out of this cycle (`DiscoveryResult.stale`).

Discovery runs where the engine is: on the agent of the host it discovers (`host`, by default the one this
process serves), and touches only that host's projects and services.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from fnmatch import fnmatchcase
from typing import TypeVar

from django.conf import settings
from django.db.models import Case, PositiveBigIntegerField, Value, When
from django.utils import timezone

from deployments import docker
from deployments.engine.targets import image_digest_for
from deployments.models import ComposeProject, DockerHost, Revision, Service, local_host_name
from registries.reference import InvalidReference, parse_reference

logger = logging.getLogger(__name__)
POLICY_LABEL_PREFIX = "updater."
FACT_FIELDS = [
    "image",
    "repository",
    "current_tag",
    "current_digest",
    "current_image_id",
    "container_state",
    "container_health",
    "is_running",
    "labels",
    "discovery_error",
]
WRITE_CHUNK = 200  # rows per conditional UPDATE (its CASE has a branch per row)
ID_CHUNK = 900  # below SQLite's historical 999-parameter limit
T = TypeVar("T")


@dataclass
class DiscoveryResult:
    seen: list[str] = field(default_factory=list)
    created: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    services: list[Service] = field(default_factory=list)  # every known service, with this cycle's facts
    stale: set[int] = field(default_factory=set)  # claimed by a deploy while discovery ran: skip this cycle
    hosts_offline: dict[str, int] = field(default_factory=dict)  # host → services not checked (agent silent)


def discover_services(*, host: DockerHost | None = None) -> DiscoveryResult:
    """Create or refresh a Service for every Compose service with a container on `host`'s engine.

    `host` must be the one this process's DOCKER_HOST reaches (by default, `hosts.local_host()`).
    """
    if host is None:
        host, _ = DockerHost.objects.get_or_create(name=local_host_name())
    now = timezone.now()
    rows = Service.objects.select_related("project__host").filter(project__host=host)  # read before Docker
    known = {(s.project.name, s.name): s for s in rows}
    groups = _compose_groups(docker.list_compose_container_summaries())
    result = DiscoveryResult()
    projects = _upsert_projects(host, groups, now)
    images = _ImageDigests(result.errors)
    to_create, to_write, seen = [], [], []
    for key, containers in sorted(groups.items()):
        result.seen.append("/".join(key))
        service = known.get(key)
        if service is None:
            service = Service(project=projects[key[0]], name=key[1], last_seen_at=now)
            _apply_facts(service, _facts(service, containers, images))
            to_create.append(service)
            continue
        seen.append(service)
        if service.active_run_id:
            continue  # mid-deploy the containers are in flux; the deploy records the outcome
        if _apply_facts(service, _facts(service, containers, images)):
            to_write.append(service)
    for key, service in known.items():
        if key not in groups and not service.is_gone and not service.active_run_id:
            _apply_facts(service, {"is_running": False, "container_state": Service.GONE, "container_health": ""})
            to_write.append(service)
    result.stale = _write_facts(to_write)
    _touch(Service, [s.pk for s in seen], last_seen_at=now)
    created = _create_services(to_create)
    result.created = [str(service) for service in created]
    _record_first_revisions(created, [s for s in to_write if s.pk not in result.stale])
    result.services = [*known.values(), *created]
    return result


def _compose_groups(containers: list[docker.ContainerInfo]) -> dict[tuple[str, str], list[docker.ContainerInfo]]:
    groups: dict[tuple[str, str], list[docker.ContainerInfo]] = defaultdict(list)
    for container in containers:
        if container.project and container.service and project_managed(container.project):
            groups[(container.project, container.service)].append(container)
    return groups


def project_managed(name: str) -> bool:
    """Whether this updater manages a Compose project (UPDATER_PROJECTS, UPDATER_IGNORED_PROJECTS)."""
    if any(fnmatchcase(name, pattern) for pattern in settings.IGNORED_PROJECTS):
        return False
    return not settings.PROJECTS or any(fnmatchcase(name, pattern) for pattern in settings.PROJECTS)


def _upsert_projects(
    host: DockerHost, groups: dict[tuple[str, str], list[docker.ContainerInfo]], now: datetime
) -> dict:
    """Every project of `host` with a container, created or refreshed; last_seen_at in one update."""
    wanted: dict[str, docker.ContainerInfo] = {}
    for (project_name, _), containers in sorted(groups.items()):
        wanted.setdefault(project_name, _representative(containers))
    on_host = ComposeProject.objects.select_related("host").filter(host=host)
    projects = {p.name: p for p in on_host.filter(name__in=list(wanted))}
    new = [
        ComposeProject(
            host=host, name=name, working_dir=c.working_dir, config_files=list(c.config_files), last_seen_at=now
        )
        for name, c in wanted.items()
        if name not in projects
    ]
    if new:
        ComposeProject.objects.bulk_create(new, ignore_conflicts=True)
        projects.update({p.name: p for p in on_host.filter(name__in=[p.name for p in new])})
    changed = []
    for name, container in wanted.items():
        project = projects[name]
        location = (container.working_dir, list(container.config_files))
        if (project.working_dir, project.config_files) != location:
            project.working_dir, project.config_files = location
            changed.append(project)
    if changed:
        ComposeProject.objects.bulk_update(changed, ["working_dir", "config_files"])
    _touch(ComposeProject, [p.pk for p in projects.values()], last_seen_at=now)
    return projects


def _representative(containers: list[docker.ContainerInfo]) -> docker.ContainerInfo:
    running = [c for c in containers if c.status == "running"]
    return sorted(running or containers, key=lambda c: c.name)[0]


class _ImageDigests:
    """Registry digests of local images, one inspect per distinct image per cycle."""

    def __init__(self, errors: list[str]) -> None:
        self._images: dict[str, docker.ImageInfo | None] = {}
        self._errors = errors

    def digest(self, image_id: str, reference) -> str | None:
        """The digest `image_id` was pulled as from `reference`'s repository; None if it cannot be told."""
        if image_id not in self._images:
            try:
                self._images[image_id] = docker.image_info(image_id)
            except docker.DockerError as exc:
                self._errors.append(str(exc))
                self._images[image_id] = None
                return None
        image = self._images[image_id]
        return image_digest_for(image, reference) if image else ""


def _facts(service: Service, containers: list[docker.ContainerInfo], images: _ImageDigests) -> dict[str, object]:
    """What the containers say about `service` now (only the fields discovery owns)."""
    container = _representative(containers)
    image_ref = _image_reference(service, container)
    facts: dict[str, object] = {
        "image": image_ref,
        "current_image_id": container.image_id,
        "container_state": container.status,
        "container_health": container.health,
        "is_running": any(c.status == "running" for c in containers),
        "labels": {k: v for k, v in container.labels.items() if k.startswith(POLICY_LABEL_PREFIX)},
    }
    if not container.working_dir or not container.config_files:
        error = "the container has no Compose working_dir/config_files labels; it cannot be updated"
        return {**facts, "discovery_error": error, "repository": ""}
    try:
        reference = parse_reference(image_ref)
    except InvalidReference as exc:
        return {**facts, "discovery_error": f"image {image_ref!r} cannot be tracked: {exc}", "repository": ""}
    facts.update(discovery_error="", repository=reference.name, current_tag=reference.tag or "")
    same_image = (service.current_image_id, service.repository) == (container.image_id, reference.name)
    if reference.digest:
        facts["current_digest"] = reference.digest
    elif not (same_image and service.current_digest):  # the digest of an image ID in a repository never changes
        digest = images.digest(container.image_id, reference)
        facts["current_digest"] = service.current_digest if digest is None else digest
    return facts


def _image_reference(service: Service, container: docker.ContainerInfo) -> str:
    """The reference the container was created from, even after its tag moved to another image."""
    if not docker.is_image_id(container.image_ref):
        return container.image_ref
    if service.current_image_id == container.image_id and service.image and not docker.is_image_id(service.image):
        return service.image  # the same image as last cycle: its reference is already known
    inspected = docker.container_info(container.id)  # the only per-container call, and only here
    return inspected.image_ref if inspected else container.image_ref


def _apply_facts(service: Service, facts: dict[str, object]) -> bool:
    """Set `facts` on the in-memory service; True if any differs from what it held."""
    changed = False
    for name, value in facts.items():
        if getattr(service, name) != value:
            setattr(service, name, value)
            changed = True
    return changed


def _write_facts(services: list[Service]) -> set[int]:
    """Write the fact fields unless a deploy claimed the row since it was read; return the pks left alone."""
    stale: set[int] = set()
    for chunk in _chunks(services, WRITE_CHUNK):
        read_generation = Case(
            *(When(pk=s.pk, then=Value(s.deploy_generation)) for s in chunk), output_field=PositiveBigIntegerField()
        )
        unclaimed = Service.objects.filter(active_run__isnull=True, deploy_generation=read_generation)
        if unclaimed.bulk_update(chunk, FACT_FIELDS) < len(chunk):
            rows = Service.objects.filter(pk__in=[s.pk for s in chunk]).values_list(
                "pk", "deploy_generation", "active_run"
            )
            free = {pk for pk, _, run in rows if run is None}
            generations = {pk: generation for pk, generation, _ in rows}
            stale |= {s.pk for s in chunk if s.pk not in free or generations.get(s.pk) != s.deploy_generation}
    if stale:
        logger.info("discovery left %s service(s) alone: a deploy claimed them meanwhile", len(stale))
    return stale


def _create_services(services: list[Service]) -> list[Service]:
    if not services:
        return []
    Service.objects.bulk_create(services, ignore_conflicts=True)  # another cycle may have created some
    names = defaultdict(list)
    for service in services:
        names[service.project_id].append(service.name)
    rows = Service.objects.select_related("project__host").filter(
        project_id__in=list(names), name__in=[s.name for s in services]
    )
    return [row for row in rows if row.name in names[row.project_id]]


def _record_first_revisions(created: list[Service], changed: list[Service]) -> None:
    """A service's history starts with what discovery first saw it run."""
    candidates = [s for s in changed if s.current_tag]
    with_history = set()
    if candidates:
        with_history = set(
            Revision.objects.filter(service_id__in=[s.pk for s in candidates]).values_list("service_id", flat=True)
        )
    Revision.objects.bulk_create(
        Revision(
            service=s,
            tag=s.current_tag,
            digest=s.current_digest,
            image_id=s.current_image_id,
            trigger=Revision.Trigger.DISCOVERED,
        )
        for s in [*created, *candidates]
        if s.current_tag and s.pk not in with_history
    )


def _touch(model: type, pks: list[int], **values: object) -> None:
    for chunk in _chunks(pks, ID_CHUNK):
        model.objects.filter(pk__in=chunk).update(**values)


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def discover_fleet(*, now: datetime | None = None) -> DiscoveryResult:
    """What a check cycle looks at: this process's own host discovered now, and every other online host's
    services as its agent last discovered them (`tasks.discover_host`, queued to each agent every cycle).

    Hosts whose agent is silent (or never reported) are skipped, not failed: `hosts_offline` counts their
    running services. A local engine that fails does not stop the other hosts' checks.
    """
    hosts = list(DockerHost.objects.all())
    local = next((h for h in hosts if h.name == settings.LOCAL_HOST), None) if settings.LOCAL_HOST else None
    if settings.LOCAL_HOST and local is None:
        local, _ = DockerHost.objects.get_or_create(name=settings.LOCAL_HOST)
    others = [h for h in hosts if h != local]
    online = [h for h in others if h.liveness(now) == DockerHost.Liveness.ONLINE]
    result = DiscoveryResult()
    if local is not None:
        try:
            result = discover_services(host=local)
        except docker.DockerError as exc:
            if not online:
                raise
            result.errors.append(f"discovery failed on host {local}: {exc}")
    if online:
        result.services += list(Service.objects.select_related("project__host").filter(project__host__in=online))
    silent = [h for h in others if h not in online]
    if silent:
        running = (
            Service.objects.filter(project__host__in=silent, is_running=True)
            .exclude(container_state=Service.GONE)
            .values_list("project__host__name", flat=True)
        )
        for name in running:
            result.hosts_offline[name] = result.hosts_offline.get(name, 0) + 1
    return result

"""The Docker seam for unit tests of discovery and the check cycle: containers and images a test scripts.

Integration tests use the real engine (tests/support/docker_env.py); these only decide what the engine's
container list and inspects answer, and count the calls. A pytest plugin (tests/conftest.py):
fixtures `engine_seam` and `only_projects`.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from deployments import docker
from deployments.docker import ContainerInfo, ImageInfo


def image_id(name: str) -> str:
    return "sha256:" + hashlib.sha256(name.encode()).hexdigest()


def digest_of(name: str) -> str:
    return "sha256:" + hashlib.sha256(f"manifest {name}".encode()).hexdigest()


@dataclass
class EngineSeam:
    """What the patched `deployments.docker` answers; `calls` counts each function."""

    containers: list[ContainerInfo] = field(default_factory=list)
    images: dict[str, ImageInfo] = field(default_factory=dict)
    calls: Counter = field(default_factory=Counter)
    on_image_info: Callable[[str], None] | None = None  # runs inside the inspect (to inject a race)
    fail_with: Exception | None = None

    def run(self, project: str, service: str, reference: str, *, status: str = "running", health: str = "") -> str:
        """A container of `project/service` running `reference` (an image pulled with a registry digest)."""
        identifier = image_id(reference)
        repository = reference.rpartition(":")[0]
        self.images[identifier] = ImageInfo(identifier, (reference,), (f"{repository}@{digest_of(reference)}",))
        self.containers.append(
            ContainerInfo(
                id=hashlib.sha256(f"{project}/{service}/{len(self.containers)}".encode()).hexdigest(),
                name=f"{project}-{service}-1",
                image_id=identifier,
                image_ref=reference,
                status=status,
                health=health,
                restart_count=0,
                exit_code=0,
                started_at="",
                labels={
                    docker.LABEL_PROJECT: project,
                    docker.LABEL_SERVICE: service,
                    docker.LABEL_WORKING_DIR: f"/srv/{project}",
                    docker.LABEL_CONFIG_FILES: f"/srv/{project}/compose.yaml",
                },
            )
        )
        return identifier

    def remove(self, project: str, service: str) -> None:
        self.containers = [c for c in self.containers if (c.project, c.service) != (project, service)]

    def list_containers(self, project: str | None = None, service: str | None = None) -> list[ContainerInfo]:
        self.calls["list"] += 1
        if self.fail_with is not None:
            raise self.fail_with
        return [c for c in self.containers if project in (None, c.project) and service in (None, c.service)]

    def container_info(self, container_id: str) -> ContainerInfo | None:
        self.calls["container_info"] += 1
        return next((c for c in self.containers if c.id == container_id), None)

    def image_info(self, reference: str) -> ImageInfo | None:
        self.calls["image_info"] += 1
        if self.on_image_info is not None:
            self.on_image_info(reference)
        return self.images.get(reference)


@pytest.fixture
def engine_seam(monkeypatch: pytest.MonkeyPatch, settings) -> EngineSeam:
    settings.PROJECTS = []  # an engine of its own: every project on it is the test's
    seam = EngineSeam()
    monkeypatch.setattr(docker, "list_compose_containers", seam.list_containers)
    if hasattr(docker, "list_compose_container_summaries"):
        monkeypatch.setattr(docker, "list_compose_container_summaries", seam.list_containers)
    monkeypatch.setattr(docker, "image_info", seam.image_info)
    monkeypatch.setattr(docker, "container_info", seam.container_info, raising=False)
    return seam


@pytest.fixture
def only_projects(settings) -> Callable[..., None]:
    """Have discovery manage only the named Compose projects of the shared engine."""

    def only(*names: str) -> None:
        settings.PROJECTS = list(names)

    return only

"""Compose stacks for fault tests: images built once per session, pushed under each test's own repository
(so a test may delete tags or manifests without touching another), and a discovered `web` service.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import docker.errors

from deployments.models import Service
from tests.support.docker_env import ComposeProjectDir, ImageSpec, build_image, docker_client, push_image
from tests.support.invariants import Baseline

# `updater.mode: manual` keeps other updaters sharing this Docker engine (other suites' workers) from
# deploying our stacks; our own database overrides it to auto (`Service.update_mode`).
TEMPLATE = """\
services:
  web:
    image: {image}  # the updater edits only this tag
    labels: {{dockerimageupdater.test: "1", updater.mode: manual}}
    stop_grace_period: {grace}
{extra}"""

_built: dict[tuple[str, str, str], str] = {}


def publish(
    host: str,
    repository: str,
    tag: str,
    spec: ImageSpec,
    *,
    keep_local: bool = False,
    username: str | None = None,
    password: str | None = None,
) -> str:
    """Push `spec` as `host/repository:tag` (built once per session); return its image ID.

    Without `keep_local` the tag is removed from the host again, so a deploy must pull it.
    """
    key = (host, spec.version, spec.behaviour)
    canonical = f"{host}/faults/base:{spec.behaviour}-{spec.version}"
    if key not in _built:
        _built[key] = build_image(canonical, spec)
    reference = f"{host}/{repository}:{tag}"
    client = docker_client()
    client.images.get(_built[key]).tag(f"{host}/{repository}", tag)
    push_image(reference, username=username, password=password)
    if not keep_local:
        client.images.remove(reference, noprune=True)
    return _built[key]


@dataclass
class Stack:
    """One Compose project with a `web` service on `repository`, discovered, and its baseline."""

    project: ComposeProjectDir
    host: str
    repository: str
    images: dict[str, str]
    service: Service
    baseline: Baseline
    template: Callable[[str], str] = field(repr=False, default=lambda tag: "")

    @property
    def key(self) -> str:
        return f"{self.project.name}/web"

    def reference(self, tag: str) -> str:
        return f"{self.host}/{self.repository}:{tag}"

    def compose_text(self, tag: str) -> bytes:
        return self.template(tag).encode()

    def target(self, tag: str) -> dict[Path, bytes]:
        return {self.project.compose_file: self.compose_text(tag)}

    def refresh(self) -> Service:
        self.service.refresh_from_db()
        return self.service

    def running_image(self) -> str:
        running = [c for c in self.project.containers("web") if c.status == "running"]
        assert len(running) == 1, [(c.name, c.status) for c in self.project.containers("web")]
        return running[0].attrs["Image"]

    def untag(self, tag: str) -> None:
        with contextlib.suppress(docker.errors.ImageNotFound):
            docker_client().images.remove(self.reference(tag), noprune=True)

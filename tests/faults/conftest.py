"""Shared setup of the fault scenarios: a Compose stack on the real engine and registry, short windows."""

from __future__ import annotations

import textwrap
import uuid

import pytest

from deployments.discovery import discover_services
from deployments.models import Service, UpdateMode
from tests.support.docker_env import ComposeProjectDir, ImageSpec, docker_client
from tests.support.invariants import Baseline
from tests.support.stacks import TEMPLATE, Stack, publish


@pytest.fixture
def fast_windows(settings):
    """Short verification windows and deadlines (the product's defaults are 10 s and 120 s)."""
    settings.STABILITY_WINDOW = 1.0
    settings.HEALTH_TIMEOUT = 10
    settings.DEPLOY_DB_RETRY_SECONDS = 5


@pytest.fixture
def make_stack(registry, compose_project, test_images, fast_windows):
    """`make_stack({"1.0.0": ImageSpec(...), "1.1.0": ...})`: push the tags, run the first, discover it."""

    def make(
        tags: dict[str, ImageSpec],
        *,
        start: str = "1.0.0",
        host: str | None = None,
        push_host: str | None = None,
        grace: str = "1s",
        extra: str = "",
        credentials: dict[str, str] | None = None,
        project: ComposeProjectDir | None = None,
    ) -> Stack:
        project = project or compose_project
        push_host = push_host or registry.host
        host = host or push_host
        repository = f"faults/{uuid.uuid4().hex[:8]}"
        images = {
            tag: publish(push_host, repository, tag, spec, keep_local=tag == start, **(credentials or {}))
            for tag, spec in tags.items()
        }
        if host != push_host:  # served through a proxy: the running tag must exist under that name
            docker_client().images.get(images[start]).tag(f"{host}/{repository}", start)

        def template(tag: str) -> str:
            body = TEMPLATE.format(
                image=f"{host}/{repository}:{tag}", grace=grace, extra=textwrap.indent(extra, "    ")
            )
            return body

        project.write(template(start))
        project.up()
        discover_services()
        service = Service.objects.select_related("project").get(project__name=project.name, name="web")
        Service.objects.filter(pk=service.pk).update(update_mode=UpdateMode.AUTO)
        service.refresh_from_db()
        return Stack(project, host, repository, images, service, Baseline.take(project), template)

    return make

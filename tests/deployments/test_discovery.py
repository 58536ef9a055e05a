"""Discovery against the real engine: state, health and image from one container list, few other calls."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from deployments import docker
from deployments.discovery import discover_services
from deployments.models import Service
from tests.support.docker_env import ImageSpec, build_and_push, build_image, docker_client

pytestmark = [pytest.mark.e2e, pytest.mark.django_db]


@pytest.fixture
def docker_calls():
    """Every Engine API request the updater's Docker client makes, by path."""
    calls: Counter = Counter()

    def count(response, *args, **kwargs):
        calls[response.request.path_url.split("?")[0]] += 1

    hooks = docker.engine().api.hooks["response"]
    hooks.append(count)
    yield calls
    hooks.remove(count)


def wait_healthy(project, service: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        [container] = project.containers(service)
        if container.attrs["State"].get("Health", {}).get("Status") == "healthy":
            return
        time.sleep(0.2)
    raise AssertionError(f"{service} did not become healthy")


def test_discovery_reads_the_engine_with_one_list_and_an_inspect_per_new_image(
    registry, compose_project, test_images, docker_calls
):
    host = registry.host
    app = build_and_push(f"{host}/discovery/app:1.0.0", ImageSpec("1.0.0", "healthy"))
    base = build_and_push(f"{host}/discovery/base:latest", ImageSpec("base"))
    services = {"web": f"{host}/discovery/app:1.0.0", "jobs": f"{host}/discovery/base:latest"}
    services["cron"] = services["jobs"]
    compose_project.write(
        "services:\n"
        + "".join(
            f"  {name}:\n    image: {image}\n    labels: {{dockerimageupdater.test: '1'}}\n    stop_grace_period: 1s\n"
            for name, image in services.items()
        )
    )
    compose_project.up()
    wait_healthy(compose_project, "web")
    build_image(f"{host}/discovery/base:latest", ImageSpec("base, rebuilt"))  # the tag moves; containers stay
    mine = {c.id for name in services for c in compose_project.containers(name)}

    docker_calls.clear()
    discover_services()
    first = dict(docker_calls)
    docker_calls.clear()
    discover_services()
    second = dict(docker_calls)

    rows = {s.name: s for s in Service.objects.filter(project__name=compose_project.name)}
    web, jobs = rows["web"], rows["jobs"]
    assert (web.container_state, web.container_health, web.current_tag) == ("running", "healthy", "1.0.0")
    assert web.current_image_id == app and web.current_digest.startswith("sha256:")
    # The list shows a moved tag's image ID; the reference the container was created with is kept.
    assert (jobs.image, jobs.current_image_id, jobs.current_tag) == (services["jobs"], base, "latest")
    assert jobs.current_digest.startswith("sha256:")

    def calls_for(calls: dict, ids) -> int:
        return sum(n for path, n in calls.items() for i in ids if i in path)

    assert first.get("/containers/json", 0) + sum(n for p, n in first.items() if "/containers/json" in p) >= 1
    assert sum(n for p, n in first.items() if p.endswith("/containers/json")) == 1
    assert calls_for(first, mine) == 2  # jobs and cron: their tag moved, so each is inspected once
    assert calls_for(first, [app, base]) == 2  # one inspect per distinct image of this project
    assert sum(n for p, n in second.items() if p.endswith("/containers/json")) == 1
    assert calls_for(second, [*mine, app, base]) == 0  # nothing new: the list is all it takes
    docker_client().images.remove(f"{host}/discovery/base:latest", force=True)

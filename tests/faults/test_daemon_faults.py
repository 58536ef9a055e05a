"""Scenario 22: the Docker daemon restarted while Compose recreates the service.

The engine is a private dockerd (`tests/support/dockerd.py`): the test's Compose CLI, its own Docker
client and the updater's worker all get its DOCKER_HOST; it pulls the images from the real registry on
127.0.0.1. The old container ignores SIGTERM, so `compose up` spends its grace period stopping it: the
daemon is restarted (SIGTERM, then started again on the same data root) in the middle of that stop.
"""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from deployments import docker, engine
from deployments.discovery import discover_services
from deployments.models import DeploymentRun, Service, UpdateMode
from tests.faults.test_process_faults import send, worker_env
from tests.support.docker_env import COMPOSE_V1, ComposeProjectDir, ImageSpec, compose_v2_path, unique_project_name
from tests.support.dockerd import PrivateEngine, private_engine
from tests.support.invariants import FAILED, Baseline, assert_nothing_lost
from tests.support.processes import celery_processes, log_text, wait_for
from tests.support.stacks import TEMPLATE, Stack, publish

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
State = DeploymentRun.State


@pytest.fixture
def private_docker() -> Iterator[PrivateEngine]:
    if not shutil.which("dockerd"):
        pytest.skip("dockerd is missing (Debian package docker.io): scenario 22 restarts a private one")
    with private_engine(Path(f"/tmp/diutr{uuid.uuid4().hex[:6]}")) as daemon:
        yield daemon
    docker.engine.cache_clear()  # the product's cached client and Compose still point at this engine
    docker.compose_command.cache_clear()


def stack_on(daemon: PrivateEngine, registry, directory: Path, cli: str, monkeypatch, settings) -> Stack:
    """`web` on 1.0.0 (stubborn: stopping it takes the 10 s grace period) on the private engine, discovered."""
    repository = f"faults/{uuid.uuid4().hex[:8]}"
    tags = {"1.0.0": ImageSpec("1.0.0", "stubborn"), "1.1.0": ImageSpec("1.1.0")}
    # Built on the host engine and pushed: the private engine pulls them from the registry.
    images = {tag: publish(registry.host, repository, tag, spec) for tag, spec in tags.items()}
    # From now on everything in this process talks to the private engine.
    monkeypatch.setenv("DOCKER_HOST", daemon.host)
    settings.DOCKER_HOST = daemon.host
    settings.COMPOSE_COMMAND = cli
    docker.engine.cache_clear()
    docker.compose_command.cache_clear()
    project = ComposeProjectDir(name=unique_project_name(), directory=directory, cli=[cli])
    directory.mkdir()

    def template(tag: str) -> str:
        return TEMPLATE.format(image=f"{registry.host}/{repository}:{tag}", grace="10s", extra="")

    project.write(template("1.0.0"))
    project.up()  # the private engine pulls 1.0.0 from the registry
    discover_services()
    service = Service.objects.select_related("project").get(project__name=project.name, name="web")
    Service.objects.filter(pk=service.pk).update(update_mode=UpdateMode.AUTO)
    service.refresh_from_db()
    return Stack(project, registry.host, repository, images, service, Baseline.take(project), template)


def stop_signalled(daemon: PrivateEngine, container_id: str, since: float) -> bool:
    """The daemon has sent the container SIGTERM: Compose is stopping it (mid-recreate)."""
    with closing(daemon.client()) as client:
        events = client.events(
            since=int(since), until=int(time.time()) + 1, decode=True, filters={"container": container_id}
        )
        return any(event.get("Action") == "kill" for event in events)


def containers(daemon: PrivateEngine) -> list[tuple[str, str]]:
    """Every container on the engine (labelled or not), as (name, status)."""
    with closing(daemon.client()) as client:
        return sorted((c.name, c.status) for c in client.containers.list(all=True))


@pytest.mark.parametrize("variant", ["v1", "v2"])
def test_22_docker_daemon_restarted_mid_recreate(
    variant, private_docker, registry, test_images, fast_windows, monkeypatch, settings, tmp_path
):
    cli = COMPOSE_V1 if variant == "v1" else compose_v2_path()
    stack = stack_on(private_docker, registry, tmp_path / "project", cli, monkeypatch, settings)
    (old,) = stack.project.containers("web")
    name = old.name  # diut…_web_1 (v1) or diut…-web-1 (v2)
    env = {**worker_env(stack), "DOCKER_HOST": private_docker.host, "UPDATER_COMPOSE_COMMAND": cli}
    with celery_processes(tmp_path / "worker", beat=False, **env):
        run = engine.deployment_request(service=stack.service, tag="1.1.0", trigger=DeploymentRun.Trigger.AUTO)
        started = time.time()
        send(run.pk)
        wait_for(lambda: stop_signalled(private_docker, old.id, started), timeout=60, message="Compose stopping web")
        at_restart = containers(private_docker)
        # Mid-recreate: v1 stops the old container before renaming it; v2 has already created the new one
        # under a temporary `<old id>_<name>` and is stopping the old one.
        temporary = f"{old.id[:12]}_{name}"
        expected = [(name, "running")] if variant == "v1" else sorted([(temporary, "created"), (name, "running")])
        assert at_restart == expected
        restart_started = time.monotonic()
        daemon_pid = private_docker.process.pid
        private_docker.restart()  # SIGTERM: the daemon kills the stubborn container, exits, starts again
        restart_took = time.monotonic() - restart_started
        assert private_docker.process.pid != daemon_pid
        run = wait_for(
            lambda: DeploymentRun.objects.filter(pk=run.pk, state__in=DeploymentRun.FINAL_STATES).first(),
            timeout=90,
            message="the run to end",
        )
        worker_log = log_text(tmp_path / "worker", "worker")
    took = time.time() - started
    print(f"\nMEASURED {variant}: daemon restart {restart_took:.1f}s, run {run.state} {took:.1f}s after the request")

    # The `up` the restart broke failed the deploy; the restore waited for the daemon and brought 1.0.0 back.
    assert (run.state, run.failed_state, run.restored) == (State.FAILED, State.REPLACING, True), (run.error, run.log)
    assert "previous version restored" in run.log
    assert not stack.refresh().automation_paused
    assert "Traceback" not in worker_log  # no engine error escaped the deploy unnamed
    assert assert_nothing_lost(stack.baseline, attempts=1, target_files=stack.target("1.1.0")) == FAILED
    # One container left on the whole engine, the service's, on the image it ran before: no temporary one.
    assert containers(private_docker) == [(name, "running")]
    assert stack.running_image() == stack.images["1.0.0"] == stack.refresh().current_image_id

"""The product's own image, built with no registry (scripts/build_image.sh: a debootstrap rootfs imported FROM
scratch, wheels from this machine, Debian's Compose v2) and run for real: a central container (web, worker,
beat; no engine of its own) and an agent container given a private dockerd's socket, both on the host's
network with the suite's PostgreSQL and a Redis with a password. A push updates the service on that engine.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
import requests

from deployments.models import DockerHost, Service
from tests.support.docker_env import (
    SESSION_ID,
    TEST_LABEL,
    ComposeProjectDir,
    ImageSpec,
    build_and_push,
    docker_client,
    unique_project_name,
)
from tests.support.dockerd import private_dockerd
from tests.support.fleet import password_redis
from tests.support.processes import ROOT, wait_for
from tests.support.processes import test_database_url as database_url
from tests.support.registry import free_port

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.image,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        shutil.which("debootstrap") is None or os.geteuid() != 0,
        reason="needs root and debootstrap (Debian package `debootstrap`; scripts/test.sh installs it)",
    ),
]
BUILD_TIMEOUT = 900  # a cold debootstrap and wheel download; warm, about a minute


@pytest.fixture(scope="module")
def product_image() -> Iterator[str]:
    """The image as scripts/build_image.sh builds it; it, its base and the build stage are removed afterwards."""
    tag, label = f"diut-updater:{SESSION_ID}", f"{SESSION_ID}-image"  # the base's label marks its children too
    started = time.monotonic()
    built = subprocess.run(
        [str(ROOT / "scripts/build_image.sh"), "--tag", tag, "--label", f"{TEST_LABEL}={label}"],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
    )
    try:
        assert built.returncode == 0, built.stderr[-4000:]
        print(f"\nMEASURED product image build: {time.monotonic() - started:.0f}s")
        yield tag
    finally:
        client = docker_client()
        for _ in range(5):  # children first: a parent goes once nothing is built on it
            leftovers = client.images.list(all=True, filters={"label": f"{TEST_LABEL}={label}"})
            for image in leftovers:
                with contextlib.suppress(docker.errors.APIError):
                    client.images.remove(image.id, force=True)
            if not leftovers:
                break


def container_logs(container) -> str:
    return container.logs().decode(errors="replace")


@pytest.mark.timeout(BUILD_TIMEOUT + 300)
def test_the_containerised_product_updates_a_service_on_the_engine_it_is_given(product_image, registry, tmp_path):
    client = docker_client()
    repository = f"{registry.host}/e2e/image-{uuid.uuid4().hex[:8]}"
    images = {"1.0.0": build_and_push(f"{repository}:1.0.0", ImageSpec("1.0.0"))}
    port = free_port()
    with (
        private_dockerd(Path(f"/tmp/diuti{uuid.uuid4().hex[:6]}")) as engine_host,
        password_redis(tmp_path / "redis") as redis_,
    ):
        engine = docker.DockerClient(base_url=engine_host, version="auto", timeout=120)
        engine.images.pull(repository, "1.0.0")
        project = ComposeProjectDir(unique_project_name(), tmp_path / "project", env={"DOCKER_HOST": engine_host})
        project.cli = [str(ROOT / ".cache/compose-v2/docker-compose")]
        project.directory.mkdir()
        project.write(
            f"""
            services:
              web:
                image: {repository}:1.0.0
                labels: {{dockerimageupdater.test: "1"}}
                stop_grace_period: 2s
            """
        )
        project.up()
        settings = {
            "DATABASE_URL": database_url(),
            "REDIS_URL": redis_.url,
            "UPDATER_SECRET_KEY": os.environ["UPDATER_SECRET_KEY"],
            "UPDATER_ENCRYPTION_KEYS": os.environ["UPDATER_ENCRYPTION_KEYS"],
            "CHECK_INTERVAL": "5",
            "UPDATER_STABILITY_WINDOW": "1",
            "UPDATER_HOST_HEARTBEAT": "2",
        }
        common = {"network_mode": "host", "detach": True, "labels": {TEST_LABEL: SESSION_ID}}
        central = client.containers.run(
            product_image,
            environment={**settings, "UPDATER_LOCAL_DOCKER": "false", "UPDATER_HTTP_PORT": str(port)},
            name=f"diut-central-{SESSION_ID}-{port}",
            **common,
        )
        socket = engine_host.removeprefix("unix://")
        agent = client.containers.run(
            product_image,
            ["agent", "imgbox"],
            environment=settings,
            volumes={
                socket: {"bind": "/var/run/docker.sock", "mode": "rw"},
                str(project.directory): {"bind": str(project.directory), "mode": "rw"},  # same path inside
            },
            name=f"diut-agent-{SESSION_ID}-{port}",
            **common,
        )
        try:
            wait_for(
                lambda: _answers(f"http://127.0.0.1:{port}/login/"), timeout=120, interval=1, message="the web app"
            )
            host = wait_for(lambda: DockerHost.objects.filter(name="imgbox").first(), timeout=60, message="agent")
            assert host.docker_host == "unix:///var/run/docker.sock" and host.compose_version.startswith("2.")

            def discovered() -> Service | None:
                return Service.objects.filter(project__host__name="imgbox", project__name=project.name).first()

            wait_for(discovered, timeout=60, interval=1, message="the agent to discover its engine's service")
            images["1.1.0"] = build_and_push(f"{repository}:1.1.0", ImageSpec("1.1.0"), keep_local=False)

            def updated() -> Service | None:
                service = discovered()
                return service if service.current_tag == "1.1.0" and not service.active_run_id else None

            service = wait_for(updated, timeout=90, interval=1, message="the containerised agent to deploy 1.1.0")
            [running] = engine.containers.list(filters={"label": f"com.docker.compose.project={project.name}"})
            assert running.attrs["Image"] == images["1.1.0"]
            assert f"{repository}:1.1.0" in project.compose_file.read_text()
            assert "on host imgbox" in service.revisions.first().run.log
            for container in (central, agent):  # SIGTERM to the launcher: a clean stop
                container.stop(timeout=60)
                container.reload()
                assert container.attrs["State"]["ExitCode"] == 0, container_logs(container)[-3000:]
        except BaseException:
            for container in (central, agent):
                print(f"----- {container.name} -----\n{container_logs(container)[-5000:]}")
            raise
        finally:
            for container in (central, agent):
                container.remove(force=True)
            project.down()
            engine.close()


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False

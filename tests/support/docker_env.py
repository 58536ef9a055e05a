"""Real Docker for tests: images built FROM scratch with Debian's static busybox, Compose projects.

Everything created carries the label `dockerimageupdater.test=<session id>` (images, containers) or a
unique `diut…` project name (networks), and is removed at the end of the test that made it.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import textwrap
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import docker
import pytest

TEST_LABEL = "dockerimageupdater.test"
SESSION_ID = os.environ.setdefault("UPDATER_TEST_SESSION", uuid.uuid4().hex[:8])  # tests.testenv sets it first
BUSYBOX = Path("/bin/busybox")

# PID 1 ignores SIGTERM without a handler: trap it so `docker stop` takes milliseconds, not 10 s.
LONG_RUNNING = 'trap "exit 0" TERM INT; echo "version $(cat /version) up"; while :; do sleep 1; done'


@dataclass(frozen=True)
class ImageSpec:
    """What a test image does: run forever (good), exit at once (broken), or run with a healthcheck."""

    version: str
    # good | broken | healthy | unhealthy | slow (healthcheck "starting" for a minute) | flap (healthy,
    # then unhealthy after $FLAP_AFTER s, default 4) | dies (no healthcheck, exits 1 after $DIE_AFTER s,
    # default 2) | stubborn (ignores SIGTERM: stopping it takes the whole stop_grace_period)
    behaviour: str = "good"
    # Look like Alpine 3.19 to Trivy, with these (package, version) in the apk database (see ALPINE_RELEASE).
    alpine_packages: tuple[tuple[str, str], ...] = ()
    # Extra files (path relative to /, content), e.g. a planted secret for Trivy's secret scanner.
    files: tuple[tuple[str, str], ...] = ()

    def dockerfile(self) -> str:
        command = {
            "good": LONG_RUNNING,
            "healthy": LONG_RUNNING,
            "unhealthy": LONG_RUNNING,
            "slow": LONG_RUNNING,
            "flap": f"mkdir -p /tmp; touch /tmp/ok; (sleep ${{FLAP_AFTER:-4}}; rm /tmp/ok) & {LONG_RUNNING}",
            "dies": 'echo "version $(cat /version) up"; sleep ${DIE_AFTER:-2}; echo "$(cat /version) died" >&2; exit 1',
            "stubborn": 'echo "version $(cat /version) up"; while :; do sleep 1; done',  # PID 1: no TERM handler
            "broken": 'echo "version $(cat /version) is broken" >&2; exit 3',
        }[self.behaviour]
        lines = [
            "FROM scratch",
            # A label on the first layer marks the intermediate images too, so cleanup finds them all.
            f"LABEL {TEST_LABEL}={SESSION_ID}",
            "COPY busybox /bin/busybox",
            'RUN ["/bin/busybox", "--install", "-s", "/bin"]',
            "COPY version /version",
            f'CMD ["/bin/sh", "-c", {json.dumps(command)}]',
        ]
        if self.alpine_packages or self.files:
            lines.append("COPY rootfs/ /")
        if self.behaviour == "healthy":
            lines.append('HEALTHCHECK --interval=1s --timeout=1s --retries=2 CMD ["/bin/true"]')
        if self.behaviour == "slow":
            lines.append('HEALTHCHECK --interval=60s --start-period=60s CMD ["/bin/true"]')
        if self.behaviour == "flap":
            lines.append('HEALTHCHECK --interval=1s --timeout=1s --retries=1 CMD ["/bin/test", "-f", "/tmp/ok"]')
        if self.behaviour == "unhealthy":
            lines.append('HEALTHCHECK --interval=1s --timeout=1s --retries=2 CMD ["/bin/false"]')
        return "\n".join(lines) + "\n"


def docker_client() -> docker.DockerClient:
    return docker.from_env(version="auto", timeout=120)


def build_image(reference: str, spec: ImageSpec) -> str:
    """Build `reference` from scratch and return its image ID."""
    with tempfile.TemporaryDirectory(prefix="updater-image-") as context:
        shutil.copy2(BUSYBOX, Path(context, "busybox"))
        Path(context, "version").write_text(f"{spec.version}\n")
        Path(context, "Dockerfile").write_text(spec.dockerfile())
        _write_rootfs(Path(context, "rootfs"), spec)
        image, _ = docker_client().images.build(path=context, tag=reference, rm=True, forcerm=True)
    return image.id


ALPINE_RELEASE = "3.19.1"


def _write_rootfs(root: Path, spec: ImageSpec) -> None:
    """Files copied over the image's root: Alpine's release files and apk database, and `spec.files`.

    Each apk entry has an origin (`o:`) line: without it Trivy has no source version to compare.
    """
    files = dict(spec.files)
    if spec.alpine_packages:
        files["etc/os-release"] = f'NAME="Alpine Linux"\nID=alpine\nVERSION_ID={ALPINE_RELEASE}\n'
        files["etc/alpine-release"] = f"{ALPINE_RELEASE}\n"
        files["lib/apk/db/installed"] = "".join(
            f"P:{name}\nV:{version}\nA:x86_64\no:{name}\n\n" for name, version in spec.alpine_packages
        )
    for relative, content in files.items():
        path = root / relative.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)


def push_image(reference: str, *, username: str | None = None, password: str | None = None) -> None:
    repository, _, tag = reference.rpartition(":")
    auth = {"username": username, "password": password} if username else None
    for line in docker_client().images.push(repository, tag=tag, auth_config=auth, stream=True, decode=True):
        if "error" in line:
            raise RuntimeError(f"push of {reference} failed: {line['error']}")


def build_and_push(
    reference: str,
    spec: ImageSpec,
    *,
    username: str | None = None,
    password: str | None = None,
    keep_local: bool = True,
) -> str:
    """Build and push; with keep_local=False the local tag is removed so a deploy must really pull."""
    image_id = build_image(reference, spec)
    push_image(reference, username=username, password=password)
    if not keep_local:
        docker_client().images.remove(reference, noprune=True)
    return image_id


def remove_test_images() -> None:
    """Remove every image (and intermediate build image) this session labelled; children go first."""
    client = docker_client()
    for _ in range(10):  # a parent can only go once its children are gone
        images = client.images.list(all=True, filters={"label": f"{TEST_LABEL}={SESSION_ID}"})
        if not images:
            return
        for image in images:
            with contextlib.suppress(docker.errors.APIError):
                client.images.remove(image.id, force=True)


@dataclass
class ComposeProjectDir:
    """A Compose project on disk, started and stopped with the standalone or plugin CLI."""

    name: str
    directory: Path
    started: bool = False
    env: dict[str, str] = field(default_factory=dict)
    cli: list[str] = field(default_factory=lambda: [COMPOSE_V1])

    @property
    def compose_file(self) -> Path:
        return self.directory / "compose.yaml"

    def write(self, text: str) -> None:
        self.compose_file.write_text(textwrap.dedent(text).lstrip())

    def compose(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = [*self.cli, "-p", self.name, "-f", str(self.compose_file), *args]
        env = {**os.environ, **self.env}
        result = subprocess.run(command, cwd=self.directory, env=env, capture_output=True, text=True, timeout=180)
        if check and result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def up(self) -> None:
        self.started = True
        self.compose("up", "-d")

    def containers(self, service: str) -> list:
        return docker_client().containers.list(
            all=True,
            filters={"label": [f"com.docker.compose.project={self.name}", f"com.docker.compose.service={service}"]},
        )

    def down(self) -> None:
        self.compose("down", "--remove-orphans", "-t", "1", check=False)
        client = docker_client()
        for container in client.containers.list(all=True, filters={"label": f"com.docker.compose.project={self.name}"}):
            container.remove(force=True)
        for network in client.networks.list(filters={"label": f"com.docker.compose.project={self.name}"}):
            network.remove()


COMPOSE_V1 = "docker-compose"  # Debian bookworm's Compose 1.29


def compose_v2_path() -> str:
    """Compose v2 for the tests: scripts/test.sh fetches it (scripts/compose_v2.sh) and exports the path."""
    path = os.environ.get("UPDATER_TEST_COMPOSE_V2", "")
    if not path or not os.access(path, os.X_OK):
        raise RuntimeError("Compose v2 is missing: set UPDATER_TEST_COMPOSE_V2=$(scripts/compose_v2.sh)")
    return path


def unique_project_name() -> str:
    """diut<session><random>: what this process's updaters manage (UPDATER_PROJECTS, see tests.testenv)."""
    return f"diut{SESSION_ID}{uuid.uuid4().hex[:6]}"


@pytest.fixture
def compose_project(tmp_path: Path) -> Iterator[ComposeProjectDir]:
    """An empty project directory with a unique project name; brought down at teardown."""
    project = ComposeProjectDir(name=unique_project_name(), directory=tmp_path / "project")
    project.directory.mkdir()
    try:
        yield project
    finally:
        project.down()


@pytest.fixture(params=["v1", "v2"])
def compose_variant(request: pytest.FixtureRequest, settings, compose_project: ComposeProjectDir) -> Iterator[str]:
    """Run the test once with standalone Compose v1 and once with the v2 binary, end to end."""
    from deployments.docker import compose_command

    executable = COMPOSE_V1 if request.param == "v1" else compose_v2_path()
    settings.COMPOSE_COMMAND = executable
    compose_project.cli = [executable]
    compose_command.cache_clear()
    yield executable
    compose_command.cache_clear()


@pytest.fixture(scope="session")
def test_images() -> Iterator[None]:
    """Removes every image this session built, at the end of the session."""
    yield
    remove_test_images()

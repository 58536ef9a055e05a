"""The README's first command on a fresh Debian machine: `scripts/run.sh` installs what it needs and serves.

The machine is a container of a minimal Debian bookworm root filesystem built here with debootstrap
(scripts/build_rootfs.sh: Python 3.11, no Redis, no python3-venv), with a copy of the repository, the
host's Docker socket and the Compose v2 plugin binary the suite already uses (`UPDATER_TEST_COMPOSE_V2`).
run.sh installs python3-venv and redis-server with apt-get, creates the virtualenv from PyPI, and the
test logs in over HTTP with the password it printed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.docker_env import SESSION_ID, TEST_LABEL, compose_v2_path, docker_client
from tests.support.processes import ROOT, wait_for
from tests.support.registry import free_port

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        shutil.which("debootstrap") is None or os.geteuid() != 0,
        reason="needs root and debootstrap (Debian package `debootstrap`; scripts/test.sh installs it)",
    ),
]

# The smallest machine that fits (a faster build): Python only; Redis and python3-venv are run.sh's to add.
ROOTFS_PACKAGES = "python3"
COMPOSE_PLUGIN = "/usr/libexec/docker/cli-plugins/docker-compose"
REPO_IN_CONTAINER = "/opt/updater"
START_TIMEOUT = 900  # apt-get, then a virtualenv from PyPI on a cold cache


@pytest.fixture(scope="module")
def fresh_debian() -> Iterator[str]:
    """The rootfs as an image (built once, cached in .cache/rootfs/), removed at the end."""
    built = subprocess.run(
        [str(ROOT / "scripts/build_rootfs.sh"), "--packages", ROOTFS_PACKAGES],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr[-3000:]
    tarball = built.stdout.strip().splitlines()[-1]
    repository, tag = "diut-fresh-debian", SESSION_ID
    client = docker_client()
    client.api.import_image(
        src=tarball, repository=repository, tag=tag, changes=[f"LABEL {TEST_LABEL}={SESSION_ID}", 'CMD ["bash"]']
    )
    image = f"{repository}:{tag}"
    try:
        # The premise: Redis was never installed there.
        probe = client.containers.run(image, ["sh", "-c", "command -v redis-server || echo none"], remove=True)
        assert probe.decode().strip() == "none"
        yield image
    finally:
        client.images.remove(image, force=True)


@pytest.fixture
def repo_copy(tmp_path: Path) -> Path:
    """The working tree as a clean clone would have it (tracked and new files, nothing ignored)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    target = tmp_path / "updater"
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    target.chmod(0o755)
    return target


def host_package_settings() -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """The host's pip settings (index, proxy CA) for the container, so PyPI is reached the same way."""
    environment, volumes = {}, {}
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_TRUSTED_HOST", "PIP_DEFAULT_TIMEOUT"):
        if os.environ.get(name):
            environment[name] = os.environ[name]
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"):
        if os.environ.get(name):
            environment[name] = os.environ[name]
    bundle = os.environ.get("PIP_CERT") or os.environ.get("REQUESTS_CA_BUNDLE")
    if bundle and Path(bundle).is_file():
        volumes[bundle] = {"bind": "/run/host-ca-bundle.crt", "mode": "ro"}
        environment["PIP_CERT"] = "/run/host-ca-bundle.crt"
    cache = ROOT / ".cache" / "pip-fresh-machine"  # re-runs here reuse downloads; CI starts cold
    cache.mkdir(parents=True, exist_ok=True)
    volumes[str(cache)] = {"bind": "/root/.cache/pip", "mode": "rw"}
    return environment, volumes


def docker_socket() -> str:
    host = os.environ.get("DOCKER_HOST", "")
    return host.removeprefix("unix://") if host.startswith("unix://") else "/var/run/docker.sock"


def log_in(port: int, password: str) -> requests.Response:
    session = requests.Session()
    page = session.get(f"http://127.0.0.1:{port}/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    return session.post(
        f"http://127.0.0.1:{port}/login/",
        data={"username": "admin", "password": password, "csrfmiddlewaretoken": token},
        headers={"Referer": f"http://127.0.0.1:{port}/login/"},
        timeout=10,
    )


@pytest.mark.timeout(START_TIMEOUT + 180)
def test_run_sh_installs_redis_and_serves_a_logged_in_status_page(fresh_debian, repo_copy):
    port = free_port()
    environment, volumes = host_package_settings()
    environment.update(UPDATER_HTTP_PORT=str(port), CHECK_INTERVAL="3600")  # no check cycle during the test
    environment["UPDATER_PROJECTS"] = os.environ["UPDATER_PROJECTS"]  # and never another test's projects
    volumes[str(repo_copy)] = {"bind": REPO_IN_CONTAINER, "mode": "rw"}
    volumes[docker_socket()] = {"bind": "/var/run/docker.sock", "mode": "rw"}
    volumes[compose_v2_path()] = {"bind": COMPOSE_PLUGIN, "mode": "ro"}
    container = docker_client().containers.run(
        fresh_debian,
        [f"{REPO_IN_CONTAINER}/scripts/run.sh"],
        detach=True,
        network_mode="host",  # the web app listens on 127.0.0.1 of the host, where the test connects
        environment=environment,
        volumes=volumes,
        labels={TEST_LABEL: SESSION_ID},
        name=f"diut-fresh-{SESSION_ID}-{port}",
    )
    started = time.monotonic()
    try:

        def started_or_exited() -> bool:
            container.reload()
            return container.status != "running" or b"is running on" in container.logs()

        wait_for(started_or_exited, timeout=START_TIMEOUT, interval=2, message="run.sh to start the product")
        output = container.logs().decode(errors="replace")
        assert container.status == "running", output[-5000:]
        print(f"run.sh on a fresh machine: serving after {time.monotonic() - started:.0f} s")
        assert "installing Debian packages: python3-venv redis-server" in output
        assert "private redis-server on 127.0.0.1:" in output
        password = re.search(r"Created admin user 'admin' with password: (\S+)", output).group(1)

        page = log_in(port, password)
        assert page.status_code == 200
        assert "<span>admin</span>" in page.text and "Log out" in page.text  # the board, logged in as admin
        assert "Last registry check" in page.text or "No registry check has run yet" in page.text

        # Docker stops the container with SIGTERM to run.sh's launcher (PID 1): a clean stop.
        container.stop(timeout=60)
        container.reload()
        logs = container.logs().decode(errors="replace")
        assert container.attrs["State"]["ExitCode"] == 0, logs[-3000:]
        assert "launcher: stopped" in logs
    finally:
        container.remove(force=True)


def test_run_sh_without_root_says_what_to_install(fresh_debian, repo_copy):
    output = _run_expecting_failure(fresh_debian, repo_copy)
    assert "missing Debian packages: python3-venv redis-server" in output
    assert "sudo apt-get install python3-venv redis-server" in output
    assert "Redis is required" in output


def _run_expecting_failure(image: str, repo: Path) -> str:
    client = docker_client()
    container = client.containers.run(
        image,
        [f"{REPO_IN_CONTAINER}/scripts/run.sh"],
        user="65534:65534",
        volumes={str(repo): {"bind": REPO_IN_CONTAINER, "mode": "ro"}},
        labels={TEST_LABEL: SESSION_ID},
        detach=True,
    )
    try:
        result = container.wait(timeout=120)
        assert result["StatusCode"] == 1
        return container.logs().decode(errors="replace")
    finally:
        container.remove(force=True)

"""A private Docker engine for benchmarks and tests that must not see (or touch) anything else on the host.

Its own bridge, data root, exec root, containerd namespace and vfs storage; no iptables rules. Everything
(containers, networks, the bridge, the directories) goes when the context exits.
"""

from __future__ import annotations

import contextlib
import ipaddress
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import docker


def _free_subnet() -> ipaddress.IPv4Network:
    routes = subprocess.run(["ip", "-4", "route"], capture_output=True, text=True, check=True).stdout
    taken = [ipaddress.ip_network(word, strict=False) for word in routes.split() if "/" in word]
    for third in range(200, 255):
        candidate = ipaddress.ip_network(f"10.213.{third}.0/24")
        if not any(candidate.overlaps(network) for network in taken):
            return candidate
    raise RuntimeError("no free 10.213.x.0/24 subnet for a private Docker bridge")


@contextmanager
def private_dockerd(work: Path) -> Iterator[str]:
    """Start dockerd under `work` (a short path: socket paths are limited); yield its DOCKER_HOST."""
    if not shutil.which("dockerd"):
        raise RuntimeError("dockerd is missing (Debian package docker.io)")
    name = f"diutb{uuid.uuid4().hex[:8]}"
    subnet = _free_subnet()
    work.mkdir(parents=True, exist_ok=True)
    (work / "daemon.json").write_text("{}")
    socket_path = work / "docker.sock"
    host = f"unix://{socket_path}"
    with contextlib.ExitStack() as stack:
        subprocess.run(["ip", "link", "add", "name", name, "type", "bridge"], check=True)
        stack.callback(subprocess.run, ["ip", "link", "delete", name], check=False)
        subprocess.run(["ip", "addr", "add", f"{subnet[1]}/{subnet.prefixlen}", "dev", name], check=True)
        subprocess.run(["ip", "link", "set", name, "up"], check=True)
        log = (work / "dockerd.log").open("wb")
        stack.callback(log.close)
        # fmt: off
        process = subprocess.Popen(
            [
                "dockerd",
                "--config-file", str(work / "daemon.json"),
                "--host", host,
                "--data-root", str(work / "root"),
                "--exec-root", str(work / "exec"),
                "--pidfile", str(work / "docker.pid"),
                "--containerd-namespace", name,
                "--containerd-plugins-namespace", f"{name}-plugins",
                "--storage-driver", "vfs",
                "--bridge", name,
                "--iptables=false",
                "--ip-masq=false",
                "--default-address-pool", "base=10.214.0.0/16,size=24",  # dockerd skips subnets the host routes
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        # fmt: on
        stack.callback(_stop, process, work)
        deadline = time.monotonic() + 60
        while True:
            try:
                client = docker.DockerClient(base_url=host, version="auto", timeout=60)
                break
            except docker.errors.DockerException:
                if process.poll() is not None or time.monotonic() > deadline:
                    log_tail = (work / "dockerd.log").read_text()[-2000:]
                    raise RuntimeError(f"private dockerd did not start: {log_tail}") from None
                time.sleep(0.3)
        stack.callback(client.close)
        stack.callback(_remove_everything, client)
        yield host


def _remove_everything(client: docker.DockerClient) -> None:
    """One container at a time: Docker 20.10 leaks network endpoints when many go at once."""
    for container in client.containers.list(all=True):
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True)
    for network in client.networks.list():
        if network.name not in {"bridge", "host", "none"}:
            with contextlib.suppress(docker.errors.APIError):
                network.remove()


def _stop(process: subprocess.Popen, work: Path) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    for mount in reversed(_mounts_under(work)):
        subprocess.run(["umount", "-l", mount], check=False)
    shutil.rmtree(work, ignore_errors=True)


def _mounts_under(work: Path) -> list[str]:
    prefix = str(work.resolve())
    with open("/proc/self/mounts") as mounts:
        return [line.split()[1] for line in mounts if line.split()[1].startswith(prefix)]

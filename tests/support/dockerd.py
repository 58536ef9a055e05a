"""A private Docker engine for benchmarks and tests that must not see (or touch) anything else on the host.

Its own bridge, data root, exec root, containerd namespace and vfs storage; no iptables rules. Everything
(containers, networks, the bridge, the directories) goes when the context exits. `private_engine` yields
a handle that can also restart the daemon (SIGTERM, then the same data root, socket, bridge and
namespace: images and containers survive, as with a real restart without live-restore).
"""

from __future__ import annotations

import contextlib
import fcntl
import ipaddress
import random
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import docker

SUBNET_LOCK = Path("/tmp/diut-dockerd-subnet.lock")  # concurrent tests (xdist workers) pick one at a time


def _routed() -> list[ipaddress.IPv4Network]:
    routes = subprocess.run(["ip", "-4", "route"], capture_output=True, text=True, check=True).stdout
    return [ipaddress.ip_network(word, strict=False) for word in routes.split() if "/" in word]


def pool_octet(third: int) -> int:
    """The second octet of the /16 an engine's networks come from (its bridge is 10.213.<third>.0/24): room
    for 256 networks of 254 addresses, enough for a bench's 1,000 services in 100 Compose projects."""
    return 100 + third - 200


def _add_bridge(name: str) -> int:
    """Create bridge `name` on a free 10.213.N.0/24 (N also picks the engine's address pool); return N.

    Under a lock file, from a random start, and checked afterwards: a caller that does not take the lock
    (an older checkout) may have picked the same subnet meanwhile, then the next one is tried.
    """
    subprocess.run(["ip", "link", "add", "name", name, "type", "bridge"], check=True)
    with SUBNET_LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        thirds = list(range(200, 255))
        random.shuffle(thirds)
        for third in thirds:
            ours = [
                ipaddress.ip_network(f"10.213.{third}.0/24"),
                ipaddress.ip_network(f"10.{pool_octet(third)}.0.0/16"),
            ]
            if any(network.overlaps(taken) for network in ours for taken in _routed()):
                continue
            address = f"10.213.{third}.1/24"
            subprocess.run(["ip", "addr", "add", address, "dev", name], check=True)
            subprocess.run(["ip", "link", "set", name, "up"], check=True)
            if sum(1 for taken in _routed() if taken == ours[0]) == 1:
                return third
            subprocess.run(["ip", "addr", "del", address, "dev", name], check=True)
    raise RuntimeError("no free 10.213.x.0/24 subnet for a private Docker bridge")


class PrivateEngine:
    """One private dockerd: `host` is its DOCKER_HOST; `restart()` stops it (SIGTERM, wait) and starts it again."""

    def __init__(self, work: Path, name: str, third: int) -> None:
        self.work = work
        self.host = f"unix://{work / 'docker.sock'}"
        # fmt: off
        self.argv = [
            "dockerd",
            "--config-file", str(work / "daemon.json"),
            "--host", self.host,
            "--data-root", str(work / "root"),
            "--exec-root", str(work / "exec"),
            "--pidfile", str(work / "docker.pid"),
            "--containerd-namespace", name,
            "--containerd-plugins-namespace", f"{name}-plugins",
            "--storage-driver", "vfs",
            "--bridge", name,  # never `--bridge none`: that deletes the host engine's docker0
            "--iptables=false",
            "--ip-masq=false",
        ]
        # Networks from this engine's own range (dockerd skips subnets the host routes, but two engines
        # creating networks at the same moment would not see each other's). First start only: a dockerd
        # started with address pools over the data root of an earlier run deletes `docker0` (the host
        # engine's bridge, whatever --bridge says; moby's removeDefaultBridgeInterface).
        self.pool = ["--default-address-pool", f"base=10.{pool_octet(third)}.0.0/16,size=24"]
        # fmt: on
        self.process: subprocess.Popen | None = None
        self.starts = 0

    def start(self) -> None:
        argv = self.argv + (self.pool if self.starts == 0 else [])
        self.starts += 1
        with (self.work / "dockerd.log").open("ab") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            try:
                docker.DockerClient(base_url=self.host, version="auto", timeout=60).close()
                return
            except docker.errors.DockerException:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log_tail = (self.work / "dockerd.log").read_text()[-2000:]
                    raise RuntimeError(f"private dockerd did not start: {log_tail}") from None
                time.sleep(0.3)

    def stop(self) -> None:
        """SIGTERM, as `systemctl stop docker` does: running containers are stopped, the daemon exits."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self) -> None:
        host_bridge = Path("/sys/class/net/docker0")
        had_bridge = host_bridge.exists()
        self.stop()
        self.start()
        if had_bridge and not host_bridge.exists():
            raise RuntimeError("restarting the private dockerd deleted the host engine's docker0")

    def client(self) -> docker.DockerClient:
        return docker.DockerClient(base_url=self.host, version="auto", timeout=120)


@contextmanager
def private_engine(work: Path) -> Iterator[PrivateEngine]:
    """Start dockerd under `work` (a short path: socket paths are limited); yield its handle."""
    if not shutil.which("dockerd"):
        raise RuntimeError("dockerd is missing (Debian package docker.io)")
    name = f"diutb{uuid.uuid4().hex[:8]}"
    work.mkdir(parents=True, exist_ok=True)
    (work / "daemon.json").write_text("{}")
    with contextlib.ExitStack() as stack:
        stack.callback(subprocess.run, ["ip", "link", "delete", name], check=False)
        engine = PrivateEngine(work, name, _add_bridge(name))
        stack.callback(_remove_work, work)
        stack.callback(engine.stop)
        engine.start()
        stack.callback(_remove_everything, engine)
        yield engine


@contextmanager
def private_dockerd(work: Path) -> Iterator[str]:
    """`private_engine` for callers that need only its DOCKER_HOST."""
    with private_engine(work) as engine:
        yield engine.host


def _remove_everything(engine: PrivateEngine) -> None:
    """One container at a time: Docker 20.10 leaks network endpoints when many go at once."""
    if engine.process is None or engine.process.poll() is not None:
        return  # stopped: its directories go with it
    with contextlib.closing(engine.client()) as client:
        for container in client.containers.list(all=True):
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True)
        for network in client.networks.list():
            if network.name not in {"bridge", "host", "none"}:
                with contextlib.suppress(docker.errors.APIError):
                    network.remove()


def _remove_work(work: Path) -> None:
    for mount in reversed(_mounts_under(work)):
        subprocess.run(["umount", "-l", mount], check=False)
    shutil.rmtree(work, ignore_errors=True)


def _mounts_under(work: Path) -> list[str]:
    prefix = str(work.resolve())
    with open("/proc/self/mounts") as mounts:
        return [line.split()[1] for line in mounts if line.split()[1].startswith(prefix)]

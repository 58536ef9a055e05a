"""A private Docker engine for benchmarks: its own dockerd, bridge and data root, removed afterwards.

The benchmark's hundreds of containers then stay out of the shared engine (other test sessions discover
every Compose project there), and its figures count only its own containers. Needs root. Storage is vfs
(nothing else works nested here); images are tiny, so that costs little.

Also: `api_version_shim`, a counting proxy in front of the engine's socket that rewrites the API version in
request paths, for clients that insist on a newer API than this engine's (Cup 3.5.1 asks for 1.44).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass
class PrivateEngine:
    host: str  # unix:///…/docker.sock
    socket_path: Path
    root: Path


@contextmanager
def private_engine() -> Iterator[PrivateEngine]:
    """Start dockerd on a fresh bridge; on exit remove its containers, stop it and delete everything."""
    if os.geteuid() != 0:
        raise SystemExit("the benchmark starts its own dockerd: run it as root")
    # A short path: containerd's socket under it must stay below 108 bytes.
    root = Path(tempfile.mkdtemp(prefix="dib-", dir="/tmp"))
    token = uuid.uuid4().hex[:6]
    bridge = f"dib{token}"
    (root / "daemon.json").write_text("{}")
    subnet = f"10.{200 + int(token[:2], 16) % 50}.{int(token[2:4], 16)}"
    _run("ip", "link", "add", "name", bridge, "type", "bridge")
    process = None
    try:
        _run("ip", "addr", "add", f"{subnet}.1/24", "dev", bridge)
        _run("ip", "link", "set", bridge, "up")
        socket_path = root / "docker.sock"
        log = (root / "dockerd.log").open("wb")
        process = subprocess.Popen(
            [
                "dockerd",
                "--config-file", str(root / "daemon.json"),
                "--host", f"unix://{socket_path}",
                "--data-root", str(root / "data"),
                "--exec-root", str(root / "x"),
                "--pidfile", str(root / "dockerd.pid"),
                "--storage-driver", "vfs",
                "--bridge", bridge,
                "--iptables=false",
                "--ip-masq=false",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        _wait_for_socket(socket_path, process, root / "dockerd.log")
        yield PrivateEngine(f"unix://{socket_path}", socket_path, root)
    finally:
        if process is not None:
            _stop(process, root)
        with contextlib.suppress(subprocess.CalledProcessError):
            _run("ip", "link", "del", bridge)
        _unmount_below(root)
        shutil.rmtree(root, ignore_errors=True)


def _run(*argv: str) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=60)


def _wait_for_socket(path: Path, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dockerd exited: {log.read_text()[-2000:]}")
        if path.exists():
            probe = subprocess.run(["docker", "-H", f"unix://{path}", "version"], capture_output=True, timeout=30)
            if probe.returncode == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"dockerd not ready after 60 s: {log.read_text()[-2000:]}")


def _stop(process: subprocess.Popen, root: Path) -> None:
    """Remove every container (in parallel, by the engine), then stop dockerd and its containerd."""
    host = f"unix://{root / 'docker.sock'}"
    if process.poll() is None:
        ids = subprocess.run(["docker", "-H", host, "ps", "-aq"], capture_output=True, text=True, timeout=60).stdout
        for batch in _batches(ids.split(), 100):
            subprocess.run(["docker", "-H", host, "rm", "-f", *batch], capture_output=True, timeout=600)
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _batches(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _unmount_below(root: Path) -> None:
    mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    for mount in sorted((m for m in mounts if m.startswith(f"{root}/")), key=len, reverse=True):
        subprocess.run(["umount", "-l", mount], capture_output=True, timeout=30)


@contextmanager
def api_version_shim(engine: PrivateEngine, from_version: str, to_version: str) -> Iterator[tuple[str, list[str]]]:
    """A unix socket that forwards to `engine`, rewriting `/v<from>/` to `/v<to>/` in request paths.

    Yields (`unix://` address, the request lines seen): Docker API calls can be counted there.
    """
    path = engine.root / f"shim-{uuid.uuid4().hex[:6]}.sock"
    requests: list[str] = []
    old, new = f"/v{from_version}/".encode(), f"/v{to_version}/".encode()
    request_line = re.compile(rb"(?:GET|HEAD|POST|PUT|DELETE) (/\S*) HTTP/1\.[01]\r\n")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen(64)
    stopping = threading.Event()

    def pipe(source: socket.socket, target: socket.socket, rewrite: bool) -> None:
        with contextlib.suppress(OSError):
            while chunk := source.recv(65536):
                if rewrite:
                    chunk = chunk.replace(old, new)
                    requests.extend(match.group(1).decode() for match in request_line.finditer(chunk))
                target.sendall(chunk)
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)

    def serve() -> None:
        while not stopping.is_set():
            try:
                client, _ = server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(str(engine.socket_path))
            threading.Thread(target=pipe, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=pipe, args=(upstream, client, False), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"unix://{path}", requests
    finally:
        stopping.set()
        server.close()
        path.unlink(missing_ok=True)

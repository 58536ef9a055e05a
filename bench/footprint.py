"""Benchmark: memory (PSS) of the whole running stack, idle, with N real Compose services.

    .venv/bin/python bench/footprint.py [--services 100] [--repositories 10] [--settle 8]

Starts a private Docker engine (own bridge, vfs storage: the stack sees these services only) and
Debian's docker-registry on 127.0.0.1, pushes one busybox image (built FROM scratch) under M
repositories, brings up one Compose project of N tiny services using them, then starts the product
exactly as a user does (`scripts/run.sh`, SQLite, private Redis) in a throwaway data directory.
Once a check cycle has completed over all N services it waits `--settle` seconds and prints the PSS
(from /proc/PID/smaps_rollup) of every process of the stack and the sum. Everything it made is removed at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import docker

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.docker_env import (  # noqa: E402
    ComposeProjectDir,
    ImageSpec,
    build_image,
    docker_client,
    push_image,
    remove_test_images,
)
from tests.support.dockerd import private_dockerd  # noqa: E402
from tests.support.registry import free_port, start_registry  # noqa: E402

SECRET_ENV = {
    "UPDATER_SECRET_KEY": "bench-secret-key-not-for-production-0123456789",
    "UPDATER_ENCRYPTION_KEYS": "dGVzdC1lbmNyeXB0aW9uLWtleS0wMTIzNDU2Nzg5YWI=",
    "UPDATER_ENV_FILE": "/dev/null",
}


def compose_cli() -> str:
    """Compose v2 starts 100 containers in parallel; fall back to bookworm's v1."""
    probe = subprocess.run([str(ROOT / "scripts/compose_v2.sh")], capture_output=True, text=True, check=False)
    return probe.stdout.strip() if probe.returncode == 0 and probe.stdout.strip() else "docker-compose"


@contextmanager
def compose_services(work: Path, services: int, repositories: int) -> Iterator[ComposeProjectDir]:
    with start_registry(work / "registry") as registry:
        image_id = build_image(f"diut-footprint-{uuid.uuid4().hex[:8]}:base", ImageSpec("1.0.0"))
        references = [f"{registry.host}/footprint/repo{index}:1.0.0" for index in range(repositories)]
        for reference in references:
            repository, _, tag = reference.rpartition(":")
            docker_client().images.get(image_id).tag(repository, tag)
            push_image(reference)
        project = ComposeProjectDir(
            name=f"diut{uuid.uuid4().hex[:10]}", directory=work / "project", cli=[compose_cli()]
        )
        project.directory.mkdir()
        lines = ["services:"]
        for index in range(services):
            lines += [f"  svc{index}:", f"    image: {references[index % repositories]}"]
        project.write("\n".join(lines) + "\n")
        try:
            started = time.monotonic()
            project.up()
            print(f"{services} Compose services up in {time.monotonic() - started:.0f} s ({project.cli[0]})")
            yield project
        finally:
            remove_project(project)
            for reference in references:
                with contextlib.suppress(docker.errors.APIError):
                    docker_client().images.remove(reference, force=True)
            remove_test_images()


def remove_project(project: ComposeProjectDir) -> None:
    """Containers one by one, then the network: Docker 20.10 leaks a network endpoint when Compose v2
    removes 100 containers of one network at once, and the network can then never be removed."""
    client = docker_client()
    label = f"com.docker.compose.project={project.name}"
    for container in client.containers.list(all=True, filters={"label": label}):
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True)
    for network in client.networks.list(filters={"label": label}):
        try:
            network.remove()
        except docker.errors.APIError as exc:
            print(f"warning: could not remove network {network.name}: {exc}")


@contextmanager
def running_stack(work: Path, port: int) -> Iterator[tuple[subprocess.Popen, Path, Path]]:
    """`scripts/run.sh` in its own session, with a throwaway data dir; SIGTERM on exit."""
    data_dir = work / "data"
    env = {key: value for key, value in os.environ.items() if key not in {"REDIS_URL", "DATABASE_URL"}}
    env.update(SECRET_ENV, UPDATER_DATA_DIR=str(data_dir), CHECK_INTERVAL="20", UPDATER_HTTP_PORT=str(port))
    log = work / "stack.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(ROOT / "scripts/run.sh")],
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield process, data_dir, log
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def completed_cycle(database: Path, services: int) -> bool:
    if not database.exists():
        return False
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1) as connection:
            row = connection.execute(
                "SELECT count(*) FROM deployments_checkcycle WHERE state = 'succeeded' AND services_checked >= ?",
                (services,),
            ).fetchone()
    except sqlite3.Error:
        return False
    return bool(row and row[0])


def descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, []))
    return found


def pss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def describe(pid: int, parents: dict[int, int]) -> str:
    words = [word.decode(errors="replace") for word in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if word]
    text = " ".join(words)
    if "redis-server" in text:
        return "redis-server"
    if "daphne" in text:
        return "web (daphne)"
    if "dashboard.launcher" in text or "manage.py serve" in text:
        return "launcher"
    if "celery" in text:
        role = "beat" if "beat" in words else "worker"
        parent = Path(f"/proc/{parents.get(pid, 0)}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        return f"{role} (child)" if "celery" in parent else role
    if words[:1] and words[0].endswith("bash") and "run.sh" in text:
        return "run.sh (bash)"
    return f"other: {Path(words[0]).name if words else pid}"


def sample(root: int) -> list[tuple[str, int, int]]:
    pids = descendants(root)
    parents = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            parents[pid] = int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])
    rows = []
    for pid in pids:
        with contextlib.suppress(OSError):  # exited meanwhile
            rows.append((describe(pid, parents), pid, pss_kb(pid)))
    return rows


def report(root: int, attempts: int = 20) -> int:
    """Print the first sample in which the stack is idle: no task subprocess (compose probe) running."""
    for _ in range(attempts):
        rows = sample(root)
        if not any(name.startswith("other") for name, _, _ in rows):
            break
        time.sleep(1)
    total = sum(kb for _, _, kb in rows)
    print(f"{'process':<24}{'pid':>8}{'PSS MB':>10}")
    for name, pid, kb in sorted(rows, key=lambda row: row[1]):
        print(f"{name:<24}{pid:>8}{kb / 1024:>10.1f}")
    print(f"{'total':<24}{'':>8}{total / 1024:>10.1f}")
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=100)
    parser.add_argument("--repositories", type=int, default=10)
    parser.add_argument("--settle", type=float, default=8.0, help="seconds to wait after the cycle before sampling")
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds to wait for a completed cycle")
    args = parser.parse_args()
    with ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="updater-footprint-")))
        # A private engine: the stack must see exactly these services, and never deploy anything else.
        os.environ["DOCKER_HOST"] = stack.enter_context(private_dockerd(Path(tempfile.mkdtemp(prefix="diutd-"))))
        stack.enter_context(compose_services(work, args.services, args.repositories))
        process, data_dir, log = stack.enter_context(running_stack(work, free_port()))
        started = time.monotonic()
        while not completed_cycle(data_dir / "updater.sqlite3", args.services):
            if process.poll() is not None or time.monotonic() - started > args.timeout:
                print(log.read_text(errors="replace")[-4000:])
                raise SystemExit("the stack stopped or no check cycle completed in time")
            time.sleep(1)
        print(f"check cycle over {args.services} services completed {time.monotonic() - started:.0f} s after start")
        time.sleep(args.settle)
        report(process.pid)


if __name__ == "__main__":
    main()

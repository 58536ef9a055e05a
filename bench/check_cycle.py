"""Benchmark: one check cycle over N running Compose services on M repositories of the real local registry.

    sudo .venv/bin/python bench/check_cycle.py --services 100 --repositories 20 [--cup /path/to/cup]

Starts a private Docker engine (bench/private_engine.py: the shared one stays untouched), Debian's
`docker-registry` on loopback with its access log on, builds one image FROM scratch with the static busybox
and pushes it as `1.0.0` and `latest` to every repository, plus a `1.1.0` over the registry's HTTP API.
Service i uses repository i % M, on `latest` when (i // M) % 3 == 2, else on `1.0.0` (which has an update);
services are grouped into Compose projects of `--per-project`, started with `docker compose up -d` in
parallel, each a `busybox sleep` with no network.

Then it runs check cycles in-process as a dry run (every decision, no deploy) and prints, for the first cycle
(cold: every service is new) and the median of `--repeat` warm ones: wall milliseconds, Docker Engine API
calls, SQL queries and registry requests (the updater's own count, and the registry's access log). Also
`manage.py check_updates --dry-run` as a whole process, and Cup if `--cup` points at its binary, on the same
engine and images (through a shim: this engine speaks API 1.41, Cup 3.5.1 asks for 1.44). Removes
everything afterwards.

Expected registry requests per warm cycle: one tag list per repository with a service on a version tag, one
manifest HEAD per repository:latest, whatever the number of services.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.private_engine import PrivateEngine, api_version_shim, private_engine  # noqa: E402

BUSYBOX = Path("/bin/busybox")
PUSH_WORKERS = 8
COMPOSE_WORKERS = 4
REQUEST_IN_LOG = re.compile(r'"(?:GET|HEAD|POST|PUT|PATCH|DELETE) /v2/')


@dataclass
class Figures:
    label: str
    ms: float
    cpu_ms: float  # user + system CPU of the process (all threads): steadier than wall time on a busy machine
    docker_calls: int | None
    queries: int | None
    requests: int | None  # as the updater counted them
    logged: int  # as the registry logged them
    updates: int | None = None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=100)
    parser.add_argument("--repositories", type=int, default=20)
    parser.add_argument("--per-project", type=int, default=10, help="services per Compose project")
    parser.add_argument("--repeat", type=int, default=3, help="warm cycles (and Cup runs) to take the median of")
    parser.add_argument("--cup", type=Path, help="a Cup binary to measure side by side")
    parser.add_argument("--database-url", default="", help="default: a throwaway SQLite file")
    parser.add_argument("--profile", action="store_true", help="print where a warm cycle spends its time")
    parser.add_argument("--settle", type=float, default=10, help="seconds to wait after setup")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="updater-bench-"))
    try:
        with private_engine() as engine:
            _configure_django(engine, work, args.database_url)
            from tests.support.registry import start_registry

            with start_registry(work / "registry", access_log=True) as registry:
                started = time.perf_counter()
                _prepare(engine, registry, args, work)
                print(f"setup: {time.perf_counter() - started:.0f} s", file=sys.stderr)
                time.sleep(args.settle)  # let the engine finish starting containers before measuring
                rows = _measure(args, engine, registry.host, work)
        _report(args, rows)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _configure_django(engine: PrivateEngine, work: Path, database_url: str) -> None:
    os.environ.update(
        DOCKER_HOST=engine.host,
        DATABASE_URL=database_url or f"sqlite:///{work / 'bench.sqlite3'}",
        UPDATER_DATA_DIR=str(work / "data"),
        UPDATER_ENV_FILE="/dev/null",
        UPDATER_IGNORED_PROJECTS="",
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "updater_project.settings")
    os.environ.setdefault("UPDATER_SECRET_KEY", "bench-secret-key-not-for-production-0123456789")
    os.environ.setdefault("UPDATER_ENCRYPTION_KEYS", "dGVzdC1lbmNyeXB0aW9uLWtleS0wMTIzNDU2Nzg5YWI=")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


# --- setting the scene ---------------------------------------------------------------------------


def _prepare(engine: PrivateEngine, registry, args: argparse.Namespace, work: Path) -> None:
    import docker

    client = docker.DockerClient(base_url=engine.host, version="auto", timeout=300)
    context = work / "image"
    context.mkdir()
    shutil.copy2(BUSYBOX, context / "busybox")
    (context / "Dockerfile").write_text(
        'FROM scratch\nCOPY busybox /bin/busybox\nCMD ["/bin/busybox", "sleep", "2147483647"]\n'
    )
    base, _ = client.images.build(path=str(context), rm=True)
    references = [
        (f"{registry.host}/bench/repo{r}", tag) for r in range(args.repositories) for tag in ("1.0.0", "latest")
    ]

    def build(reference: tuple[str, str]) -> None:
        """A distinct image per repository:tag (a label, no new layer), as separately built images would be."""
        own = docker.APIClient(base_url=engine.host, version="auto", timeout=300)  # one per thread
        directory = context / reference[0].rsplit("/", 1)[1] / reference[1]
        directory.mkdir(parents=True)
        (directory / "Dockerfile").write_text(f"FROM {base.id}\nLABEL bench.reference={':'.join(reference)}\n")
        list(own.build(path=str(directory), tag=":".join(reference), rm=True, decode=True))

    with ThreadPoolExecutor(PUSH_WORKERS) as pool:
        list(pool.map(build, references))

    def push(reference: tuple[str, str]) -> None:
        own = docker.APIClient(base_url=engine.host, version="auto", timeout=300)  # one per thread
        for line in own.push(reference[0], tag=reference[1], stream=True, decode=True):
            if "error" in line:
                raise RuntimeError(f"push of {reference} failed: {line['error']}")

    push(references[0])  # the layers once; concurrent first uploads of one blob confuse the registry
    with ThreadPoolExecutor(PUSH_WORKERS) as pool:
        list(pool.map(push, references[1:]))
    for r in range(args.repositories):
        registry.push_image(f"bench/repo{r}", "1.1.0")
    _start_projects(engine, registry.host, args, work)
    running = len(client.containers.list(filters={"status": "running"}))
    if running != args.services:
        raise RuntimeError(f"{running} of {args.services} containers are running")


def _start_projects(engine: PrivateEngine, host: str, args: argparse.Namespace, work: Path) -> None:
    compose = _compose_binary()
    projects = []
    for first in range(0, args.services, args.per_project):
        name = f"bench{first // args.per_project:04d}"
        directory = work / "projects" / name
        directory.mkdir(parents=True)
        lines = ["services:"]
        for index in range(first, min(first + args.per_project, args.services)):
            tag = "latest" if (index // args.repositories) % 3 == 2 else "1.0.0"
            lines += [
                f"  svc{index}:",
                f"    image: {host}/bench/repo{index % args.repositories}:{tag}",
                "    network_mode: none",
                "    stop_signal: SIGKILL",
            ]
        (directory / "compose.yaml").write_text("\n".join(lines) + "\n")
        projects.append((name, directory))

    def up(project: tuple[str, Path]) -> None:
        name, directory = project
        argv = [compose, "-p", name, "-f", str(directory / "compose.yaml"), "up", "-d", "--quiet-pull"]
        env = {**os.environ, "DOCKER_HOST": engine.host}
        result = subprocess.run(argv, cwd=directory, env=env, capture_output=True, text=True, timeout=900)
        if result.returncode:
            raise RuntimeError(f"compose up {name} failed: {result.stderr[-2000:]}")

    with ThreadPoolExecutor(COMPOSE_WORKERS) as pool:
        list(pool.map(up, projects))


def _compose_binary() -> str:
    result = subprocess.run([str(ROOT / "scripts/compose_v2.sh")], capture_output=True, text=True, timeout=600)
    return result.stdout.strip() if result.returncode == 0 and result.stdout.strip() else "docker-compose"


# --- measuring -----------------------------------------------------------------------------------


def _logged_requests(log: Path) -> int:
    return sum(1 for line in log.read_text(errors="replace").splitlines() if REQUEST_IN_LOG.search(line))


def _measure(args: argparse.Namespace, engine: PrivateEngine, registry_host: str, work: Path) -> list[Figures]:
    """A cold cycle, then warm cycles and Cup runs taking turns (so both see the same machine), then the command."""
    log = work / "registry" / "registry.log"
    cycle = _updater_cycle(args, log)
    rows = [cycle("updater: first cycle (cold)")]
    warm, cup = [], []
    config = work / "cup.json"
    config.write_text(json.dumps({"registries": {registry_host: {"insecure": True}}}))
    with api_version_shim(engine, "1.44", "1.41") as (address, seen):
        for _ in range(args.repeat):
            warm.append(cycle(f"updater: warm cycle (median of {args.repeat})"))
            if args.cup:
                cup.append(_cup_run(args.cup, config, address, seen, log, args.repeat))
    rows.append(_median(warm))
    if args.profile:
        _profile_cycle()
    rows.append(_measure_command(engine, log))
    if cup:
        rows.append(_median(cup))
    return rows


def _median(runs: list[Figures]) -> Figures:
    return sorted(runs, key=lambda figures: figures.ms)[len(runs) // 2]


def _updater_cycle(args: argparse.Namespace, log: Path) -> Callable[[str], Figures]:
    from django.db import connection

    from deployments import checks, docker

    def one_cycle(label: str) -> Figures:
        calls = []
        hooks = docker.engine().api.hooks["response"]
        hooks.append(lambda response, *a, **k: calls.append(response.request.path_url))
        logged = _logged_requests(log)
        queries = []

        def count_query(execute, sql, params, many, context):
            queries.append(sql)
            return execute(sql, params, many, context)

        try:
            with connection.execute_wrapper(count_query):
                started, cpu = time.perf_counter(), time.process_time()
                cycle, outcomes = checks.run_cycle(dry_run=True)
                elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        finally:
            hooks.pop()
        if len(outcomes) != args.services:
            raise RuntimeError(f"checked {len(outcomes)} services, expected {args.services}: {cycle.errors[:3]}")
        updates = sum(1 for outcome in outcomes if outcome.has_update)
        logged = _logged_requests(log) - logged
        return Figures(
            label, elapsed * 1000, cpu * 1000, len(calls), len(queries), cycle.registry_requests, logged, updates
        )

    return one_cycle


def _profile_cycle() -> None:
    import cProfile
    import pstats

    from deployments import checks

    with cProfile.Profile() as profile:
        checks.run_cycle(dry_run=True)
    pstats.Stats(profile, stream=sys.stderr).sort_stats("tottime").print_stats(30)


def _measure_command(engine: PrivateEngine, log: Path) -> Figures:
    """`manage.py check_updates --dry-run` as a whole process, its Engine API calls counted by a shim."""
    with api_version_shim(engine, "1.41", "1.41") as (address, seen):
        env = {**os.environ, "DOCKER_HOST": address}
        logged = _logged_requests(log)
        started, cpu = time.perf_counter(), _children_cpu()
        subprocess.run(
            [sys.executable, "manage.py", "check_updates", "--dry-run"], cwd=ROOT, env=env, capture_output=True
        )
        elapsed, cpu = time.perf_counter() - started, _children_cpu() - cpu
        calls = len([path for path in seen if not path.endswith("/version")])  # version negotiation
    logged = _logged_requests(log) - logged
    return Figures("updater: check_updates --dry-run", elapsed * 1000, cpu * 1000, calls, None, None, logged)


def _cup_run(cup: Path, config: Path, address: str, seen: list[str], log: Path, repeat: int) -> Figures:
    seen.clear()
    logged = _logged_requests(log)
    started, cpu = time.perf_counter(), _children_cpu()
    result = subprocess.run([str(cup), "-c", str(config), "-s", address, "check", "-r"], capture_output=True, text=True)
    elapsed, cpu = time.perf_counter() - started, _children_cpu() - cpu
    if result.returncode:
        raise RuntimeError(f"cup failed: {result.stdout[-1000:]} {result.stderr[-1000:]}")
    updates = json.loads(result.stdout)["metrics"]["updates_available"]
    label = f"cup 3.5.1: check -r (median of {repeat})"
    return Figures(label, elapsed * 1000, cpu * 1000, len(seen), None, None, _logged_requests(log) - logged, updates)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _report(args: argparse.Namespace, rows: list[Figures]) -> None:
    floating = sum(1 for i in range(args.services) if (i // args.repositories) % 3 == 2)
    print(
        f"\n{args.services} running services in {-(-args.services // args.per_project)} Compose projects on "
        f"{args.repositories} repositories ({args.services - floating} on 1.0.0 with 1.1.0 available, "
        f"{floating} on latest); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print(
        f"{'':42} {'wall ms':>8} {'CPU ms':>7} {'Docker calls':>13} {'SQL queries':>12} {'registry requests':>18} "
        f"{'updates':>8}"
    )
    for row in rows:
        counted = "" if row.requests is None else f"{row.requests} / "
        print(
            f"{row.label:42} {row.ms:8.0f} {row.cpu_ms:7.0f} {_or_dash(row.docker_calls):>13} "
            f"{_or_dash(row.queries):>12} {counted + str(row.logged) + ' logged':>18} {_or_dash(row.updates):>8}"
        )
    print("(Cup counts updates per image: one per repository here; the updater per service.)")


def _or_dash(value: int | None) -> str:
    return "-" if value is None else str(value)


if __name__ == "__main__":
    main()

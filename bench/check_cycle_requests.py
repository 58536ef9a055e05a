"""Benchmark: registry requests and time of one check for N services sharing M repositories.

    .venv/bin/python bench/check_cycle_requests.py [--services 50] [--repositories 5]

Runs Debian's docker-registry on 127.0.0.1 (as the tests do), pushes each repository's images over
the HTTP API, and checks unsaved Service rows (no database, no Docker): two thirds follow a version
tag with an update available, one third a floating `latest`. Prints the requests of a warm cycle
(the first contact with a loopback registry also probes https once per process).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "updater_project.settings")
os.environ.setdefault("UPDATER_SECRET_KEY", "bench-secret-key-not-for-production-0123456789")
os.environ.setdefault("UPDATER_ENCRYPTION_KEYS", "dGVzdC1lbmNyeXB0aW9uLWtleS0wMTIzNDU2Nzg5YWI=")
os.environ.setdefault("UPDATER_DATA_DIR", tempfile.mkdtemp(prefix="updater-bench-"))

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from deployments.checks import check_services  # noqa: E402
from deployments.models import ComposeProject, Service  # noqa: E402
from tests.support.registry import start_registry  # noqa: E402


def make_services(host: str, services: int, repositories: int) -> list[Service]:
    project = ComposeProject(name="bench", working_dir="/srv/bench")
    rows = []
    for index in range(services):
        repository = f"{host}/bench/repo{index % repositories}"
        floating = index % 3 == 2
        tag = "latest" if floating else "1.0.0"
        rows.append(
            Service(
                project=project,
                name=f"svc{index}",
                repository=repository,
                image=f"{repository}:{tag}",
                current_tag=tag,
                current_digest="sha256:" + "0" * 64,
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=50)
    parser.add_argument("--repositories", type=int, default=5)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)  # a throwaway SQLite file: Registry rows are looked up
    with tempfile.TemporaryDirectory() as tmp, start_registry(Path(tmp)) as registry:
        for index in range(args.repositories):
            for tag in ("1.0.0", "1.1.0", "latest"):
                registry.push_image(f"bench/repo{index}", tag)
        services = make_services(registry.host, args.services, args.repositories)
        check_services(services)  # warm-up: the https probe of a loopback registry
        started = time.perf_counter()
        outcomes, requests = check_services(services)
        elapsed = time.perf_counter() - started
    versioned_repos = len({s.repository for s in services if s.current_tag != "latest"})
    floating_repos = len({s.repository for s in services if s.current_tag == "latest"})
    updates = sum(1 for o in outcomes if o.has_update)
    print(f"services: {args.services}  repositories: {args.repositories}  updates found: {updates}")
    print(f"registry requests in one cycle: {requests}")
    print(
        f"  expected: {versioned_repos} tag lists + {versioned_repos} HEADs of the chosen tag "
        f"+ {floating_repos} HEADs of latest = {2 * versioned_repos + floating_repos}"
    )
    print(f"cycle time: {elapsed * 1000:.0f} ms ({elapsed * 1000 / args.services:.1f} ms per service)")


if __name__ == "__main__":
    main()

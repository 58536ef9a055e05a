"""Benchmark: server time and SQL queries of the board for 50, 500 and 2,000 services.

    .venv/bin/python bench/board.py [--sizes 50 500 2000] [--repeat 7]

Fills a fresh SQLite database (or DATABASE_URL) with services spread over 20 Compose projects, in a
realistic mix of states (synced, update available, awaiting approval, deploying, failed, unknown),
each with deploy-run history, then renders `/` through Django's full request stack (middleware,
session, auth, template) as a logged-in viewer. Prints the median and best server time and the query
count per size; the target is 500 services in under 150 ms with the same query count at every size.
"""

from __future__ import annotations

import argparse
import os
import statistics
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
os.environ.setdefault("UPDATER_ENV_FILE", os.devnull)

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from dashboard.roles import VIEWER, assign_role  # noqa: E402
from deployments.models import ComposeProject, DeploymentRun, Service  # noqa: E402

DIGEST = "sha256:" + "a" * 64
NEW = "sha256:" + "b" * 64


def fill(count: int) -> None:
    DeploymentRun.objects.all().delete()
    Service.objects.update(active_run=None)
    Service.objects.all().delete()
    ComposeProject.objects.all().delete()
    projects = ComposeProject.objects.bulk_create(
        ComposeProject(name=f"stack-{index:02d}", working_dir=f"/srv/stack-{index:02d}") for index in range(20)
    )
    now = timezone.now()
    services = []
    for index in range(count):
        kind = index % 10
        available = "1.1.0" if kind in (1, 2, 3, 4, 5) else "1.0.0"
        services.append(
            Service(
                project=projects[index % 20],
                name=f"svc-{index:05d}",
                image=f"registry.example.com/team/app{index % 40}:1.0.0",
                repository=f"registry.example.com/team/app{index % 40}",
                current_tag="1.0.0",
                current_digest=DIGEST,
                is_running=True,
                container_state="running",
                labels={"updater.mode": "notify"} if kind == 2 else {"updater.strategy": "semver"},
                available_tag=available,
                available_digest=NEW if available != "1.0.0" else DIGEST,
                last_checked_at=None if kind == 9 else now,
            )
        )
    Service.objects.bulk_create(services, batch_size=500)
    runs = []
    for service in Service.objects.all():
        for age in range(3):  # history: every service has runs, the board must read only the latest
            runs.append(
                DeploymentRun(
                    service=service,
                    generation=age + 1,
                    trigger="auto",
                    from_tag="0.9.0",
                    to_tag="1.1.0" if age == 0 else "1.0.0",
                    state="failed" if age == 0 and service.name.endswith("3") else "succeeded",
                    error="verification failed: exited with code 3",
                )
            )
    DeploymentRun.objects.bulk_create(runs, batch_size=1000)
    deploying = list(Service.objects.filter(name__endswith="4")[: max(1, count // 20)])
    for service in deploying:
        run = DeploymentRun.objects.create(
            service=service, generation=9, trigger="auto", to_tag="1.1.0", state="pulling"
        )
        Service.objects.filter(pk=service.pk).update(active_run=run)


def measure(client: Client, repeat: int) -> tuple[float, float, float, int, int]:
    """Wall time (median, best) and CPU time (best) of the request; the CPU figure is the one a busy
    shared machine disturbs least."""
    client.get("/")  # warm the template and URL caches
    wall, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.get("/")
        wall.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
    assert response.status_code == 200
    with CaptureQueriesContext(connection) as queries:
        client.get("/")
    return statistics.median(wall), min(wall), min(cpu), len(queries), len(response.content)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 500, 2000])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    user, _ = get_user_model().objects.get_or_create(username="bench-viewer")
    assign_role(user, VIEWER)
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    print(f"database: {connection.vendor}")
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'services':>9} {'median ms':>10} {'best ms':>8} {'CPU ms':>7} {'queries':>8} {'HTML KiB':>9}")
    for size in args.sizes:
        fill(size)
        median, best, cpu, queries, size_bytes = measure(client, args.repeat)
        print(f"{size:>9} {median:>10.1f} {best:>8.1f} {cpu:>7.1f} {queries:>8} {size_bytes / 1024:>9.0f}")


if __name__ == "__main__":
    main()

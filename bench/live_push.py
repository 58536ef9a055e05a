"""Benchmark: a service's state change → the open board's DOM, measured in Chromium.

    .venv/bin/python bench/live_push.py [--services 200] [--changes 40]

Runs the product's web process (Daphne: HTTP + websockets) on a fresh SQLite database with a private
redis-server (unless REDIS_URL is set), opens the board in Debian's Chromium through Playwright, then
flips services between "Synced" and "Update available" the way a check does: a committed write and a
SERVICE_CHANGED domain event. The clock starts just before the commit; the page's MutationObserver
stops it when the row's state changes. The path measured is the real one: event subscriber →
render → Redis channel layer → Daphne → websocket → htmx out-of-band swap. Target: p95 < 0.5 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = Path(tempfile.mkdtemp(prefix="updater-bench-live-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "updater_project.settings")
os.environ.setdefault("UPDATER_SECRET_KEY", "bench-secret-key-not-for-production-0123456789")
os.environ.setdefault("UPDATER_ENCRYPTION_KEYS", "dGVzdC1lbmNyeXB0aW9uLWtleS0wMTIzNDU2Nzg5YWI=")
os.environ["UPDATER_DATA_DIR"] = str(DATA)
os.environ["UPDATER_ENV_FILE"] = os.devnull
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs an event loop in this thread
os.environ.pop("DATABASE_URL", None)  # a fresh SQLite file shared by this process and the web process

redis_process = None
if not os.environ.get("REDIS_URL"):
    from tests.support.product import free_port

    redis_port = free_port()
    redis_process = subprocess.Popen(
        ["redis-server", "--bind", "127.0.0.1", "--port", str(redis_port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    os.environ["REDIS_URL"] = f"redis://127.0.0.1:{redis_port}/0"
    time.sleep(0.5)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from dashboard.roles import VIEWER, assign_role  # noqa: E402
from deployments.events import EventKind, emit  # noqa: E402
from deployments.models import ComposeProject, Service  # noqa: E402
from tests.factories import UserFactory  # noqa: E402
from tests.support.product import web_process  # noqa: E402

PASSWORD = "bench-password-123"  # noqa: S105 - a throwaway user on a throwaway database
OBSERVE = """
window.__changes = [];
document.addEventListener("DOMContentLoaded", function () {
  var last = {};
  function scan() {
    document.querySelectorAll("tr.svc").forEach(function (row) {
      if (last[row.id] !== undefined && last[row.id] !== row.dataset.state) {
        window.__changes.push({id: row.id, state: row.dataset.state, at: Date.now()});
      }
      last[row.id] = row.dataset.state;
    });
  }
  scan();
  new MutationObserver(scan).observe(document.body, {subtree: true, childList: true, attributes: true});
});
"""


def seed(count: int) -> list[int]:
    now = timezone.now()
    projects = [ComposeProject.objects.create(name=f"stack-{i}", working_dir=f"/srv/{i}") for i in range(10)]
    Service.objects.bulk_create(
        Service(
            project=projects[i % 10],
            name=f"svc-{i:04d}",
            image=f"registry.example.com/team/app{i}:1.0.0",
            repository=f"registry.example.com/team/app{i}",
            current_tag="1.0.0",
            available_tag="1.0.0",
            is_running=True,
            last_checked_at=now,
        )
        for i in range(count)
    )
    user = UserFactory(username="bench", password=PASSWORD)
    assign_role(user, VIEWER)
    return list(Service.objects.order_by("pk").values_list("pk", flat=True))


def flip(service_id: int, to_update: bool) -> float:
    """Write what a check writes and announce it; returns the wall clock (ms) just before the commit."""
    with transaction.atomic():
        Service.objects.filter(pk=service_id).update(available_tag="1.1.0" if to_update else "1.0.0")
        emit(EventKind.SERVICE_CHANGED, service_id=service_id)
        started = time.time() * 1000
    return started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=200)
    parser.add_argument("--changes", type=int, default=40)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    call_command("migrate", verbosity=0)
    ids = seed(args.services)
    latencies = []
    writer = ThreadPoolExecutor(max_workers=1)
    with web_process(DATA / "web") as base_url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.add_init_script(OBSERVE)
        page.goto(f"{base_url}/login/")
        page.fill("input[name=username]", "bench")
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector('#live-status[data-state="live"]', timeout=30_000)
        for index in range(args.changes):
            service_id = ids[(index * 7) % len(ids)]
            current = page.evaluate("(id) => document.getElementById('svc-' + id).dataset.state", service_id)
            expected = "synced" if current == "update" else "update"
            # The write happens off this thread: Playwright's event loop runs here, and the event's
            # subscriber sends with async_to_sync, as it does in a worker or a web request thread.
            started = writer.submit(flip, service_id, to_update=expected == "update").result()
            page.wait_for_function(
                "([id, state]) => window.__changes.some(c => c.id === 'svc-' + id && c.state === state)",
                arg=[service_id, expected],
                timeout=10_000,
            )
            changed = page.evaluate(
                "([id, state]) => window.__changes.filter(c => c.id === 'svc-' + id && c.state === state).pop().at",
                [service_id, expected],
            )
            latencies.append(changed - started)
            page.evaluate("window.__changes = []")
            time.sleep(0.2)
        browser.close()
    latencies.sort()
    p95 = latencies[max(0, round(0.95 * len(latencies)) - 1)]
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; {args.services} services on the board")
    print(
        f"state change → DOM over {len(latencies)} changes: p50 {statistics.median(latencies):.0f} ms, "
        f"p95 {p95:.0f} ms, max {latencies[-1]:.0f} ms"
    )


if __name__ == "__main__":
    try:
        main()
    finally:
        if redis_process is not None:
            redis_process.terminate()
            redis_process.wait()
        shutil.rmtree(DATA, ignore_errors=True)

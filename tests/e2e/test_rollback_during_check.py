"""A rollback requested while a check cycle is in progress sticks (real worker, beat, registry, Docker).

The cycle is kept in progress for seconds by a second service whose registry accepts connections and never
answers. Before the fix a cycle decided "web → 1.1.0" from what it read before the rollback and claimed it
right after the rollback finished, so the service rolled straight forward.
"""

from __future__ import annotations

import time

import pytest
from django.core.management import call_command

from deployments.models import CheckCycle, DeploymentRun, Service
from tests.support.docker_env import ImageSpec, build_and_push, build_image
from tests.support.processes import celery_processes, log_text, wait_for
from tests.support.silent_host import silent_host

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
CHECK_INTERVAL = 5


def web(project_name: str) -> Service | None:
    return Service.objects.filter(project__name=project_name, name="web").first()


def finished_cycles_since(moment) -> int:
    return CheckCycle.objects.filter(state=CheckCycle.State.SUCCEEDED, started_at__gt=moment).count()


def test_a_rollback_during_a_check_cycle_stays_rolled_back(registry, compose_project, test_images, tmp_path):
    repository = f"{registry.host}/e2e/{compose_project.name}"
    image_v1 = build_and_push(f"{repository}:1.0.0", ImageSpec("1.0.0"))
    with silent_host() as dead_host:
        build_image(f"{dead_host}/e2e/worker:1.0.0", ImageSpec("worker"))  # local only: its registry never answers
        compose_project.write(
            f"""
            services:
              web:
                image: {repository}:1.0.0
                labels: {{dockerimageupdater.test: "1"}}
                stop_grace_period: 1s
              worker:
                image: {dead_host}/e2e/worker:1.0.0
                labels: {{dockerimageupdater.test: "1"}}
                stop_grace_period: 1s
            """
        )
        compose_project.up()
        settings = {
            "CHECK_INTERVAL": str(CHECK_INTERVAL),
            "UPDATER_REGISTRY_TIMEOUT": "3",  # every cycle waits for the silent registry this long
            "UPDATER_PROJECTS": compose_project.name,
        }
        data_dir = tmp_path / "product"
        with celery_processes(data_dir, **settings):
            wait_for(lambda: web(compose_project.name), timeout=30, message="discovery")
            build_and_push(f"{repository}:1.1.0", ImageSpec("1.1.0"), keep_local=False)
            wait_for(
                lambda: (s := web(compose_project.name)) and s.current_tag == "1.1.0" and not s.active_run_id,
                timeout=CHECK_INTERVAL + 45,
                message="the update to 1.1.0",
            )

            # Roll back while a cycle is in progress (waiting on the silent registry).
            synced_at = time.time()
            wait_for(
                lambda: CheckCycle.objects.filter(state=CheckCycle.State.RUNNING, started_at__gt=_at(synced_at)),
                timeout=3 * CHECK_INTERVAL + 10,
                interval=0.1,
                message="a check cycle in progress",
            )
            call_command("rollback", f"{compose_project.name}/web", "1.0.0")
            rolled_back_at = _at(time.time())
            rollback = DeploymentRun.objects.get(service=web(compose_project.name), trigger="rollback")
            assert rollback.state == DeploymentRun.State.SUCCEEDED

            wait_for(
                lambda: finished_cycles_since(rolled_back_at) >= 3,
                timeout=4 * (CHECK_INTERVAL + 6) + 20,
                message="three more check cycles",
            )
            service = web(compose_project.name)
            assert (service.current_tag, service.active_run_id) == ("1.0.0", None)
            assert "1.1.0" in service.ignored_tags
            assert not service.runs.filter(pk__gt=rollback.pk).exists()  # nothing rolled it forward
            [container] = [c for c in compose_project.containers("web") if c.status == "running"]
            assert container.attrs["Image"] == image_v1
            worker = Service.objects.get(project__name=compose_project.name, name="worker")
            assert dead_host in worker.last_check_error
            # Checked while running: stopping the processes interrupts a cycle that waits on the dead host.
            assert "Traceback" not in log_text(data_dir, "worker"), log_text(data_dir, "worker")[-3000:]


def _at(timestamp: float):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(timestamp, tz=UTC)

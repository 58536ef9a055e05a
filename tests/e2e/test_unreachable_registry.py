"""One dead registry does not hold up the others (real worker, beat, registry, Docker).

A project has two services on the real registry and three on a registry host that accepts connections and
never answers. Before the fix each of those three repositories paid 4 attempts of https+http timeouts in
turn (about a minute per cycle) before anything was deployed.
"""

from __future__ import annotations

import time

import pytest

from deployments.models import CheckCycle, Service
from registries.models import RegistryHealth
from tests.support.docker_env import ImageSpec, build_and_push, build_image, docker_client
from tests.support.processes import celery_processes, log_text, wait_for
from tests.support.silent_host import silent_host

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
CHECK_INTERVAL = 5
DEPLOY_TIME = 40  # two deploys of one project, one after the other, with a 2 s stability window each


def test_services_on_healthy_registries_update_while_another_registry_is_dead(
    registry, compose_project, test_images, tmp_path
):
    repository = f"{registry.host}/e2e/{compose_project.name}"
    for name in ("web", "api"):
        build_and_push(f"{repository}-{name}:1.0.0", ImageSpec("1.0.0"))
    with silent_host() as dead_host:
        legacy = build_image(f"{dead_host}/e2e/legacy0:1.0.0", ImageSpec("legacy"))
        for index in (1, 2):
            docker_client().images.get(legacy).tag(f"{dead_host}/e2e/legacy{index}", "1.0.0")
        images = {"web": f"{repository}-web:1.0.0", "api": f"{repository}-api:1.0.0"}
        images.update({f"legacy{index}": f"{dead_host}/e2e/legacy{index}:1.0.0" for index in range(3)})
        compose_project.write(
            "services:\n"
            + "".join(
                f"  {name}:\n    image: {image}\n    labels: {{dockerimageupdater.test: '1'}}\n"
                "    stop_grace_period: 1s\n"
                for name, image in images.items()
            )
        )
        compose_project.up()
        settings = {
            "CHECK_INTERVAL": str(CHECK_INTERVAL),
            "UPDATER_REGISTRY_TIMEOUT": "2",
            "UPDATER_PROJECTS": compose_project.name,
        }
        data_dir = tmp_path / "product"
        with celery_processes(data_dir, **settings):
            wait_for(
                lambda: Service.objects.filter(project__name=compose_project.name).count() == 5,
                timeout=30,
                message="discovery",
            )
            wait_for(
                lambda: RegistryHealth.objects.filter(host=dead_host, reachable=False).exists(),
                timeout=CHECK_INTERVAL + 30,
                message="the dead registry to be noticed",
            )
            for name in ("web", "api"):
                build_and_push(f"{repository}-{name}:1.1.0", ImageSpec("1.1.0"), keep_local=False)
            pushed_at = time.monotonic()

            def both_updated():
                rows = Service.objects.filter(project__name=compose_project.name, name__in=["web", "api"])
                return all(s.current_tag == "1.1.0" and not s.active_run_id for s in rows) and len(rows) == 2

            wait_for(both_updated, timeout=CHECK_INTERVAL + DEPLOY_TIME, message="web and api on 1.1.0")
            print(f"\nMEASURED push→both synced beside a dead registry: {time.monotonic() - pushed_at:.1f}s")

            for index in range(3):
                legacy_row = Service.objects.get(project__name=compose_project.name, name=f"legacy{index}")
                assert dead_host in legacy_row.last_check_error and legacy_row.current_tag == "1.0.0"
            last = CheckCycle.objects.filter(state=CheckCycle.State.SUCCEEDED).first()
            assert [line for line in last.errors if dead_host in line] == [
                next(line for line in last.errors if dead_host in line)
            ], last.errors  # one line for the host, not one per service
            # Checked while running: stopping the processes interrupts a cycle that waits on the dead host.
            assert "Traceback" not in log_text(data_dir, "worker"), log_text(data_dir, "worker")[-3000:]

"""The core loop for real: Docker engine, Debian's registry with htpasswd auth, Celery worker and beat.

A Compose service on app:1.0.0 is updated to a freshly pushed 1.1.0 within one check interval, a
rollback returns it to 1.0.0 and stays there, and a broken 1.2.0 ends as a failed attempt with the
service still on 1.0.0.
"""

from __future__ import annotations

import functools
import os
import signal
import time

import pytest
from django.core.management import call_command

from deployments.models import DeploymentRun, Revision, Service
from registries.models import Registry
from tests.support.docker_env import ImageSpec, build_and_push
from tests.support.processes import celery_processes, log_text, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
CHECK_INTERVAL = 5

COMPOSE_TEMPLATE = """\
# Production stack — edited by hand, keep these comments.
services:
  web:
    # The app itself; the updater bumps this tag.
    image: {host}/{repository}:{tag}   # pinned by ops
    labels:
      dockerimageupdater.test: "1"
    stop_grace_period: 2s
"""


def service_row(project_name: str) -> Service | None:
    return Service.objects.filter(project__name=project_name, name="web").first()


def running_image_id(project) -> str:
    containers = [c for c in project.containers("web") if c.status == "running"]
    assert len(containers) == 1, [c.status for c in project.containers("web")]
    return containers[0].attrs["Image"]


def wait_synced(project_name: str, tag: str, *, timeout: float) -> Service:
    def synced():
        service = service_row(project_name)
        return service if service and service.current_tag == tag and not service.active_run_id else None

    return wait_for(synced, timeout=timeout, message=f"{project_name}/web synced on {tag}")


def test_push_update_rollback_and_broken_image(auth_registry, compose_project, compose_variant, test_images, tmp_path):
    host = auth_registry.host
    repository = f"e2e/{compose_project.name}"  # the registry is shared by the whole session
    compose = functools.partial(COMPOSE_TEMPLATE.format, host=host, repository=repository)
    credentials = {"username": auth_registry.username, "password": auth_registry.password}
    registry = Registry(host=host, username=auth_registry.username)
    registry.set_secret(auth_registry.password)
    registry.save()

    image_v1 = build_and_push(f"{host}/{repository}:1.0.0", ImageSpec("1.0.0"), **credentials)
    compose_project.write(compose(tag="1.0.0"))
    compose_project.up()

    data_dir = tmp_path / "product"
    with celery_processes(data_dir, CHECK_INTERVAL=str(CHECK_INTERVAL), UPDATER_COMPOSE_COMMAND=compose_variant):
        wait_for(lambda: service_row(compose_project.name), timeout=30, message="discovery")
        discovered = service_row(compose_project.name)
        assert discovered.current_tag == "1.0.0"
        assert discovered.current_digest.startswith("sha256:")

        # 1. A freshly pushed 1.1.0 is deployed within one check interval plus deploy time.
        image_v2 = build_and_push(f"{host}/{repository}:1.1.0", ImageSpec("1.1.0"), keep_local=False, **credentials)
        pushed_at = time.monotonic()
        service = wait_synced(compose_project.name, "1.1.0", timeout=CHECK_INTERVAL + 45)
        push_to_synced = time.monotonic() - pushed_at
        print(
            f"\nMEASURED push→Synced with {compose_variant}: {push_to_synced:.1f}s (check interval {CHECK_INTERVAL}s)"
        )
        assert running_image_id(compose_project) == image_v2
        assert compose_project.compose_file.read_text() == compose(tag="1.1.0")
        revision = service.revisions.first()
        assert (revision.tag, revision.trigger, revision.image_id) == ("1.1.0", Revision.Trigger.AUTO, image_v2)
        assert revision.digest == service.current_digest != discovered.current_digest
        run = revision.run
        assert run.state == DeploymentRun.State.SUCCEEDED
        assert "pull" in run.log and "verified" in run.log

        # 2. Rollback: 1.0.0 again, on a recreated container, and the next checks do not roll forward.
        container_before = compose_project.containers("web")[0].id
        call_command("rollback", f"{compose_project.name}/web", "1.0.0")
        service.refresh_from_db()
        assert service.current_tag == "1.0.0"
        assert "1.1.0" in service.ignored_tags
        assert running_image_id(compose_project) == image_v1
        assert compose_project.containers("web")[0].id != container_before
        assert service.revisions.first().trigger == Revision.Trigger.ROLLBACK
        checks_before = _cycles()
        wait_for(lambda: _cycles() >= checks_before + 2, timeout=3 * CHECK_INTERVAL + 10, message="two more checks")
        service.refresh_from_db()
        assert service.current_tag == "1.0.0"
        assert not service.runs.filter(to_tag="1.1.0", trigger=DeploymentRun.Trigger.AUTO).exclude(pk=run.pk).exists()

        # 3. A broken 1.2.0 (exits at once) fails; the service keeps running 1.0.0.
        build_and_push(f"{host}/{repository}:1.2.0", ImageSpec("1.2.0", "broken"), keep_local=False, **credentials)
        failed = wait_for(
            lambda: service.runs.filter(to_tag="1.2.0", state=DeploymentRun.State.FAILED).first(),
            timeout=CHECK_INTERVAL + 60,
            message="the broken deploy to fail",
        )
        assert "exited with code 3" in failed.error
        assert failed.restored
        assert "is broken" in failed.log  # the container's own output is kept for the operator
        assert running_image_id(compose_project) == image_v1
        assert compose_project.compose_file.read_text() == compose(tag="1.0.0")
        service.refresh_from_db()
        assert (service.current_tag, service.active_run_id) == ("1.0.0", None)
        # It is not retried on the next checks.
        checks_before = _cycles()
        wait_for(lambda: _cycles() >= checks_before + 2, timeout=3 * CHECK_INTERVAL + 10, message="two more checks")
        assert service.runs.filter(to_tag="1.2.0").count() == 1
    assert "Traceback" not in log_text(data_dir, "worker"), log_text(data_dir, "worker")[-3000:]
    assert auth_registry.password not in log_text(data_dir, "worker")
    assert not DeploymentRun.objects.filter(log__contains=auth_registry.password).exists()
    assert not DeploymentRun.objects.filter(error__contains=auth_registry.password).exists()


def test_latest_tag_updates_when_its_digest_changes(registry, compose_project, test_images, tmp_path):
    reference = f"{registry.host}/e2e/rolling:latest"
    build_and_push(reference, ImageSpec("one"))
    compose_project.write(
        f"""
        services:
          web:
            image: {reference}
            labels:
              dockerimageupdater.test: "1"
            stop_grace_period: 2s
        """
    )
    compose_project.up()
    data_dir = tmp_path / "product"
    with celery_processes(data_dir, CHECK_INTERVAL=str(CHECK_INTERVAL)):
        first = wait_for(lambda: service_row(compose_project.name), timeout=30, message="discovery")
        old_digest = first.current_digest
        new_image = build_and_push(reference, ImageSpec("two"), keep_local=False)  # the deploy must pull it

        def updated():
            service = service_row(compose_project.name)
            return service if service.current_digest not in ("", old_digest) and not service.active_run_id else None

        service = wait_for(updated, timeout=CHECK_INTERVAL + 45, message="the digest update")
        assert running_image_id(compose_project) == new_image
        assert service.current_tag == "latest"
        assert service.revisions.first().trigger == Revision.Trigger.AUTO
    assert "Traceback" not in log_text(data_dir, "worker")


def _cycles() -> int:
    from deployments.models import CheckCycle

    return CheckCycle.objects.filter(state=CheckCycle.State.SUCCEEDED).count()


def test_worker_killed_mid_deploy_is_undone_by_the_next_worker(registry, compose_project, test_images, tmp_path):
    host = registry.host
    image_v1 = build_and_push(f"{host}/e2e/slow:1.0.0", ImageSpec("1.0.0"))
    compose_file = COMPOSE_TEMPLATE.format(host=host, repository="e2e/slow", tag="1.0.0")
    compose_project.write(compose_file)
    compose_project.up()
    data_dir = tmp_path / "product"
    settings = {"CHECK_INTERVAL": str(CHECK_INTERVAL), "UPDATER_HEALTH_TIMEOUT": "120"}
    with celery_processes(data_dir, **settings) as processes:
        service = wait_for(lambda: service_row(compose_project.name), timeout=30, message="discovery")
        # 1.1.0's healthcheck stays "starting" for a minute: the deploy sits in verifying.
        build_and_push(f"{host}/e2e/slow:1.1.0", ImageSpec("1.1.0", "slow"), keep_local=False)
        run = wait_for(
            lambda: service.runs.filter(state=DeploymentRun.State.VERIFYING).first(),
            timeout=CHECK_INTERVAL + 45,
            message="the deploy to reach verifying",
        )
        os.killpg(processes["worker"].pid, signal.SIGKILL)  # worker and its pool children, mid-deploy
        processes["worker"].wait()
    killed_at = time.monotonic()

    with celery_processes(tmp_path / "restarted", beat=True, UPDATER_DEPLOY_STALE_AFTER="10", **settings):
        failed = wait_for(
            lambda: DeploymentRun.objects.filter(pk=run.pk, state=DeploymentRun.State.FAILED).first(),
            timeout=90,
            message="the reconciler to undo the abandoned deploy",
        )
        print(f"\nMEASURED killed worker → deploy undone: {time.monotonic() - killed_at:.1f}s")
    assert "worker lost while verifying" in failed.error
    assert failed.restored
    assert running_image_id(compose_project) == image_v1
    assert compose_project.compose_file.read_text() == compose_file
    service.refresh_from_db()
    assert (service.current_tag, service.active_run_id) == ("1.0.0", None)

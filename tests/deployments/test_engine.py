"""The deploy engine on the real Docker engine and registry, run in-process (no Celery).

Bad input and failures must leave the service on its previous version with consistent state.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from docker import errors as docker_errors

from deployments import docker, engine
from deployments.discovery import discover_services
from deployments.engine.runner import Pipeline
from deployments.engine.state import RunContext
from deployments.models import DeploymentRun, Revision, Service
from tests.factories import ServiceFactory
from tests.support.chaos import Background, database_cut_off
from tests.support.chaos_proxy import chaos_proxy
from tests.support.docker_env import ImageSpec, build_and_push, docker_client
from tests.support.processes import ROOT, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
State = DeploymentRun.State

COMPOSE = """\
services:
  web:
    image: {host}/engine/app:{tag}  # keep me
    labels: {{dockerimageupdater.test: "1", updater.mode: manual}}  # no other updater on this engine deploys it
    stop_grace_period: 1s
"""


@pytest.fixture
def fast_verify(settings):
    settings.STABILITY_WINDOW = 1.0
    settings.HEALTH_TIMEOUT = 15


@pytest.fixture(scope="session")
def engine_images(registry, test_images) -> dict[str, str]:
    """engine/app 1.0.0 (good), 1.1.0 (good), 1.2.0 (broken): built and pushed once per session."""
    host = registry.host
    return {
        "1.0.0": build_and_push(f"{host}/engine/app:1.0.0", ImageSpec("1.0.0")),
        "1.1.0": build_and_push(f"{host}/engine/app:1.1.0", ImageSpec("1.1.0"), keep_local=False),
        "1.2.0": build_and_push(f"{host}/engine/app:1.2.0", ImageSpec("1.2.0", "broken"), keep_local=False),
    }


@pytest.fixture
def deployed(registry, engine_images, compose_project, compose_variant, fast_verify):
    """web on engine/app:1.0.0, discovered; 1.1.0 (good) and 1.2.0 (broken) pushed, not tagged here.
    Once with Compose v1, once with v2."""
    return _deploy(registry, engine_images, compose_project)


@pytest.fixture
def deployed_once(registry, engine_images, compose_project, fast_verify):
    """As `deployed`, with the Compose the product finds by itself (v1 here): for engine logic that
    does not depend on the Compose version."""
    return _deploy(registry, engine_images, compose_project)


def _deploy(registry, engine_images, compose_project):
    host = registry.host
    images = dict(engine_images)
    for tag in ("1.1.0", "1.2.0"):  # an earlier test may have pulled it: the deploy must pull again
        with contextlib.suppress(docker_errors.ImageNotFound):
            docker_client().images.remove(f"{host}/engine/app:{tag}", noprune=True)
    compose_project.write(COMPOSE.format(host=host, tag="1.0.0"))
    compose_project.up()
    discover_services()
    service = Service.objects.get(project__name=compose_project.name, name="web")
    return service, compose_project, images, host


def running_image(project) -> str:
    [container] = [c for c in project.containers("web") if c.status == "running"]
    return container.attrs["Image"]


def key(service: Service) -> str:
    return f"{service.project.name}/{service.name}"


def assert_still_on_v1(service, project, images, host):
    service.refresh_from_db()
    assert (service.current_tag, service.active_run_id) == ("1.0.0", None)
    assert running_image(project) == images["1.0.0"]
    assert project.compose_file.read_text() == COMPOSE.format(host=host, tag="1.0.0")


def test_manual_deploy_records_a_manual_revision(deployed):
    service, project, images, host = deployed
    call_command("deploy", key(service), "1.1.0")
    service.refresh_from_db()
    assert service.current_tag == "1.1.0"
    assert running_image(project) == images["1.1.0"]
    assert service.revisions.first().trigger == Revision.Trigger.MANUAL
    assert project.compose_file.read_text() == COMPOSE.format(host=host, tag="1.1.0")


def test_unknown_tag_fails_at_pull_and_leaves_everything_as_it_was(deployed):
    service, project, images, host = deployed
    container_before = project.containers("web")[0].id
    with pytest.raises(CommandError, match="previous version restored"):
        call_command("deploy", key(service), "9.9.9")
    run = service.runs.get()
    assert (run.state, run.failed_state, run.restored) == (State.FAILED, State.PULLING, True)
    assert "9.9.9" in run.log
    assert project.containers("web")[0].id == container_before  # never stopped
    assert_still_on_v1(service, project, images, host)


def test_broken_image_is_rolled_back_with_the_container_output(deployed):
    service, project, images, host = deployed
    with pytest.raises(CommandError, match="exited with code 3"):
        call_command("deploy", key(service), "1.2.0")
    run = service.runs.get()
    assert (run.failed_state, run.restored) == (State.VERIFYING, True)
    assert "version 1.2.0 is broken" in run.log
    assert_still_on_v1(service, project, images, host)


def test_malformed_compose_file_is_refused_before_anything_changes(deployed):
    service, project, images, host = deployed
    broken = COMPOSE.format(host=host, tag="1.0.0") + "  oops: [unclosed\n"
    project.compose_file.write_text(broken)
    with pytest.raises(CommandError, match="line"):
        call_command("deploy", key(service), "1.1.0")
    assert service.runs.get().failed_state == State.EDITING
    assert project.compose_file.read_text() == broken  # the user's file is left exactly as it was
    assert running_image(project) == images["1.0.0"]


@pytest.mark.parametrize(("target", "message"), [("nope/web", "no service"), ("bad-key", "PROJECT/SERVICE")])
def test_deploy_of_an_unknown_service_is_one_clear_error(db, target, message):
    with pytest.raises(CommandError, match=message):
        call_command("deploy", target, "1.0.0")


def test_deploy_refuses_a_tag_outside_the_grammar(deployed):
    service, *_ = deployed
    with pytest.raises(CommandError, match="invalid tag"):
        call_command("deploy", key(service), "1.0;reboot")
    assert not service.runs.exists()


def test_a_worker_killed_after_replacing_is_undone_by_the_reconciler(deployed):
    service, project, images, host = deployed
    run = engine.deployment_request(service=service, tag="1.1.0", trigger=DeploymentRun.Trigger.AUTO)
    ctx = RunContext(DeploymentRun.objects.select_related("service__project").get(pk=run.pk))
    ctx.advance(State.EDITING)
    pipeline = Pipeline(ctx)
    pipeline.snapshot()
    pipeline.edit()
    pipeline.pull()
    pipeline.scan_gate()
    pipeline.replace()
    ctx.advance(State.VERIFYING)
    # The worker dies here: 1.1.0 runs, the file says 1.1.0, the run is mid-verify and stops reporting.
    assert running_image(project) == images["1.1.0"]
    DeploymentRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))

    result = engine.reconcile()

    assert result.recovered == [run.pk]
    run.refresh_from_db()
    assert (run.state, run.failed_state, run.restored) == (State.FAILED, State.VERIFYING, True)
    assert "worker lost" in run.error
    assert run.generation == ctx.run.generation + 1  # the dead worker is fenced out
    assert_still_on_v1(service, project, images, host)


def test_reconcile_leaves_a_live_deploy_alone(deployed):
    service, *_ = deployed
    run = engine.deployment_request(service=service, tag="1.1.0", trigger=DeploymentRun.Trigger.AUTO)
    ctx = RunContext(DeploymentRun.objects.get(pk=run.pk))
    ctx.advance(State.EDITING)  # heartbeat is fresh
    assert engine.reconcile().recovered == []
    assert DeploymentRun.objects.get(pk=run.pk).state == State.EDITING


def test_rollback_of_a_floating_tag_brings_back_the_old_image_and_ignores_the_new_digest(
    registry, compose_project, test_images, fast_verify
):
    reference = f"{registry.host}/engine/rolling:stable"
    old_image = build_and_push(reference, ImageSpec("old"))
    compose_project.write(
        f"services:\n  web:\n    image: {reference}\n"
        "    labels: {dockerimageupdater.test: '1', updater.mode: manual}\n    stop_grace_period: 1s\n"
    )
    compose_project.up()
    discover_services()
    service = Service.objects.get(project__name=compose_project.name)
    old_digest = service.current_digest
    new_image = build_and_push(reference, ImageSpec("new"), keep_local=False)
    call_command("deploy", key(service), "stable")
    assert running_image(compose_project) == new_image
    service.refresh_from_db()
    new_digest = service.current_digest

    call_command("rollback", key(service))

    service.refresh_from_db()
    assert running_image(compose_project) == old_image
    assert (service.current_tag, service.current_digest) == ("stable", old_digest)
    assert service.ignored_digests == [new_digest]


def start_run(service: Service, tag: str = "1.1.0", trigger=DeploymentRun.Trigger.AUTO) -> Pipeline:
    run = engine.deployment_request(service=service, tag=tag, trigger=trigger)
    ctx = RunContext(DeploymentRun.objects.select_related("service__project").get(pk=run.pk))
    ctx.advance(State.EDITING)
    return Pipeline(ctx)


def test_restore_brings_back_a_service_compose_v1_left_stopped_mid_recreate(deployed):
    service, project, images, host = deployed
    pipeline = start_run(service)
    pipeline.snapshot()
    pipeline.edit()
    pipeline.pull()
    pipeline.ctx.advance(State.REPLACING)
    # Compose v1 recreates by stopping and renaming the old container before it creates the new one;
    # an `up` killed right there leaves the same container IDs, and nothing running.
    [old] = project.containers("web")
    old.stop(timeout=1)
    old.rename(f"{old.id[:12]}_{old.name}")

    pipeline.fail("`up` was killed mid-recreate")

    run = DeploymentRun.objects.get(pk=pipeline.run.pk)
    assert (run.state, run.restored) == (State.FAILED, True)
    assert "previous version running" in run.log
    assert [c.status for c in project.containers("web")] == ["running"]
    assert_still_on_v1(service, project, images, host)


def test_a_refused_revert_leaves_tags_and_containers_alone(deployed_once):
    service, project, images, host = deployed_once
    pipeline = start_run(service)
    pipeline.snapshot()
    pipeline.edit()
    pipeline.pull()
    pipeline.replace()
    edited = project.compose_file.read_text() + "# tuned by hand during the deploy\n"
    project.compose_file.write_text(edited)  # the user edits the file we wrote

    pipeline.fail("verification failed: pretend")

    run = DeploymentRun.objects.get(pk=pipeline.run.pk)
    service.refresh_from_db()
    assert (run.state, run.restored) == (State.FAILED, False)
    assert "compose file not restored" in service.automation_paused
    assert project.compose_file.read_text() == edited  # never overwritten
    # The tag still names the image it names in the registry: never pointed at the old image.
    assert docker_client().images.get(f"{host}/engine/app:1.1.0").id == images["1.1.0"]
    assert running_image(project) == images["1.1.0"]  # left alone for the operator


def test_a_database_outage_at_the_final_write_never_undoes_a_verified_deploy(deployed_once, pause_points, settings):
    service, project, images, host = deployed_once
    settings.DEPLOY_DB_RETRY_SECONDS = 1
    points = pause_points("verified")
    pipeline = start_run(service)

    def cut_the_database_at_the_final_write():
        run_id, _ = points.wait("verified")
        with database_cut_off():
            points.resume("verified", run_id)
            time.sleep(2)  # the worker retries for 1 s, then gives up and leaves the run to recovery

    injector = Background(cut_the_database_at_the_final_write)
    injector.start()
    pipeline.run_steps()
    injector.join_result()

    run = DeploymentRun.objects.get(pk=pipeline.run.pk)
    assert (run.state, run.verified_at is not None) == (State.VERIFYING, True)
    DeploymentRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    assert engine.reconcile().recovered == [run.pk]

    run.refresh_from_db()
    service.refresh_from_db()
    assert run.state == State.SUCCEEDED
    assert "recorded by the reconciler" in run.log
    assert (service.current_tag, service.active_run_id) == ("1.1.0", None)
    assert running_image(project) == images["1.1.0"]
    assert project.compose_file.read_text() == COMPOSE.format(host=host, tag="1.1.0")


def test_a_heartbeat_database_error_does_not_kill_the_command():
    """The heartbeat runs inside `run_command`'s tick: a lost connection is retried, the child lives on."""
    service = ServiceFactory()
    ctx = RunContext(engine.deployment_request(service=service, tag="1.1.0", trigger=DeploymentRun.Trigger.AUTO))
    ctx.advance(State.EDITING)
    ticks = []

    def tick():
        if not ticks:
            with database_cut_off():
                ctx.heartbeat()  # refused: logged and skipped, not raised
        else:
            ctx.heartbeat()  # reconnects
        ticks.append(1)

    result = docker.run_command(
        ["sleep", "1.5"], env={"PATH": "/usr/bin:/bin"}, timeout=30, on_tick=tick, tick_every=0.2
    )
    assert result.returncode == 0 and len(ticks) >= 3
    assert DeploymentRun.objects.get(pk=ctx.run.pk).heartbeat_at > ctx.run.heartbeat_at


def test_a_slow_tag_listing_keeps_a_rollback_alive(
    registry, compose_project, test_images, fast_verify, settings, redis_unreachable
):
    """The tags a rollback ignores are listed when it starts, heartbeating: a registry that takes longer
    than the stale period (Retry-After) cannot make the reconciler undo the rollback (Redis is down, so
    only the heartbeat protects it)."""
    settings.DEPLOY_STALE_AFTER = 2
    images = {
        tag: build_and_push(f"{registry.host}/engine/slowlist:{tag}", ImageSpec(tag)) for tag in ("1.0.0", "1.1.0")
    }
    with chaos_proxy(registry) as proxy:
        compose_project.write(COMPOSE.format(host=proxy.host, tag="1.0.0").replace("engine/app", "engine/slowlist"))
        compose_project.up()
        discover_services()
        service = Service.objects.get(project__name=compose_project.name)
        call_command("deploy", key(service), "1.1.0")
        proxy.delay(r"/tags/list", 5.0)
        stop = threading.Event()
        undone = []

        def reconcile_all_the_time():
            while not stop.is_set():
                undone.extend(engine.reconcile().recovered)
                time.sleep(0.2)

        reconciler = Background(reconcile_all_the_time, name="reconciler")
        reconciler.start()
        try:
            call_command("rollback", key(service), "1.0.0")
        finally:
            stop.set()
            reconciler.join_result()
    assert undone == []
    service.refresh_from_db()
    assert service.current_tag == "1.0.0"
    assert "1.1.0" in service.ignored_tags
    assert running_image(compose_project) == images["1.0.0"]


def test_compose_never_outlives_a_killed_worker(tmp_path):
    """A pool child SIGKILLed (hard time limit, OOM) takes its Compose child with it."""
    script = (
        "import sys; from deployments.docker import run_command; "
        "run_command(['sleep', '60'], env={'PATH': '/usr/bin:/bin'}, timeout=120, tick_every=1)"
    )
    worker = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "updater_project.settings"},
    )
    try:
        child = wait_for(lambda: _children_of(worker.pid), timeout=20, message="the command to start")[0]
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
        wait_for(lambda: not _alive(child), timeout=5, message="the orphaned command to die")
    finally:
        if worker.poll() is None:
            worker.kill()


def test_time_limits_cover_a_restore_after_the_slowest_forward_deploy():
    script = "from django.conf import settings as s; print(s.CELERY_TASK_SOFT_TIME_LIMIT, s.CELERY_TASK_TIME_LIMIT)"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "updater_project.settings",
        "UPDATER_PULL_TIMEOUT": "600",
        "UPDATER_COMPOSE_TIMEOUT": "300",
        "UPDATER_HEALTH_TIMEOUT": "120",
        "UPDATER_STABILITY_WINDOW": "10",
    }
    output = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {script}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    soft, hard = map(int, output.split())
    forward = 2 * 300 + 600 + (120 + 10)  # config + up, pull, verify
    restore = 300 + (120 + 10)  # up of the old image, verify
    assert soft >= forward
    assert hard - soft >= restore  # the soft limit's restore finishes before the hard kill


def _children_of(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"

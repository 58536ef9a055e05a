"""The deploy engine on the real Docker engine and registry, run in-process (no Celery).

Bad input and failures must leave the service on its previous version with consistent state.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from deployments import engine
from deployments.discovery import discover_services
from deployments.engine.runner import Pipeline
from deployments.engine.state import RunContext
from deployments.models import DeploymentRun, Revision, Service
from tests.support.docker_env import ImageSpec, build_and_push

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
State = DeploymentRun.State

COMPOSE = """\
services:
  web:
    image: {host}/engine/app:{tag}  # keep me
    labels: {{dockerimageupdater.test: "1"}}
    stop_grace_period: 1s
"""


@pytest.fixture
def fast_verify(settings):
    settings.STABILITY_WINDOW = 1.0
    settings.HEALTH_TIMEOUT = 15


@pytest.fixture
def deployed(registry, compose_project, compose_variant, test_images, fast_verify):
    """web on engine/app:1.0.0, discovered; 1.1.0 (good) and 1.2.0 (broken) pushed, not pulled."""
    host = registry.host
    images = {
        "1.0.0": build_and_push(f"{host}/engine/app:1.0.0", ImageSpec("1.0.0")),
        "1.1.0": build_and_push(f"{host}/engine/app:1.1.0", ImageSpec("1.1.0"), keep_local=False),
        "1.2.0": build_and_push(f"{host}/engine/app:1.2.0", ImageSpec("1.2.0", "broken"), keep_local=False),
    }
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
        f"services:\n  web:\n    image: {reference}\n    labels: {{dockerimageupdater.test: '1'}}\n"
        "    stop_grace_period: 1s\n"
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

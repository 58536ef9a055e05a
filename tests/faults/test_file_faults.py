"""Scenarios 18, 19, 21: the Compose file is edited by hand mid-deploy, is awkward, or the disk is full."""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from deployments import engine
from deployments.models import DeploymentRun
from tests.support.chaos import Background
from tests.support.docker_env import ComposeProjectDir, ImageSpec, docker_client, unique_project_name
from tests.support.invariants import FAILED, PAUSED, VERIFIED, Baseline, assert_nothing_lost

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
State = DeploymentRun.State
GOOD = {"1.0.0": ImageSpec("1.0.0"), "1.1.0": ImageSpec("1.1.0")}


def deploy_paused_at(stack, step: str, points, tag: str = "1.1.0"):
    run = engine.deployment_request(service=stack.service, tag=tag, trigger=DeploymentRun.Trigger.AUTO)
    worker = Background(lambda: engine.execute(run.pk))
    worker.start()
    points.wait(step)
    return run, worker


def test_18_hand_edit_between_plan_and_write_aborts_with_drift(make_stack, pause_points):
    stack = make_stack(GOOD)
    points = pause_points("planned")
    run, worker = deploy_paused_at(stack, "planned", points)
    edited = stack.compose_text("1.0.0").replace(b"stop_grace_period: 1s", b"stop_grace_period: 2s")
    stack.project.compose_file.write_bytes(edited)  # the operator saves their own change now
    points.resume("planned", run.pk)
    worker.join_result()

    run.refresh_from_db()
    assert (run.state, run.failed_state) == (State.FAILED, State.EDITING)
    assert "changed on disk" in run.error
    assert not stack.refresh().automation_paused  # nothing of ours was written: nothing to repair
    stack.baseline.files[stack.project.compose_file] = edited  # the user's bytes are "before" now
    assert assert_nothing_lost(stack.baseline, attempts=1) == FAILED


def test_18_hand_edit_after_our_write_is_never_overwritten(make_stack, pause_points):
    stack = make_stack({"1.0.0": ImageSpec("1.0.0"), "1.1.0": ImageSpec("1.1.0", "broken")})
    points = pause_points("restoring")
    run, worker = deploy_paused_at(stack, "restoring", points)
    edited = stack.compose_text("1.1.0") + b"# keep 1.1.0 while we debug\n"
    stack.project.compose_file.write_bytes(edited)
    points.resume("restoring", run.pk)
    worker.join_result()

    run.refresh_from_db()
    assert (run.state, run.restored) == (State.FAILED, False)
    assert "file was changed after the updater wrote it" in stack.refresh().automation_paused
    assert stack.project.compose_file.read_bytes() == edited
    tagged = docker_client().images.get(stack.reference("1.1.0")).id
    assert tagged == stack.images["1.1.0"]  # the new tag still names the new image, never the old one
    stack.baseline.files[stack.project.compose_file] = edited
    assert assert_nothing_lost(stack.baseline, attempts=1) == PAUSED


AWKWARD = (
    "# hand-written, CRLF, anchors and an x- extension\r\n"
    "x-common: &common\r\n"
    '  labels: {{dockerimageupdater.test: "1", updater.mode: manual}}\r\n'
    "  stop_grace_period: 1s\r\n"
    "services:\r\n"
    "  web:\r\n"
    "    <<: *common\r\n"
    '    image: "{host}/{repository}:${{TAG:-0.0.1}}"   # from .env\r\n'
)


def test_19_awkward_file_only_the_env_token_changes(make_stack, registry, compose_project):
    stack = make_stack(GOOD)  # pushes the images; the project is then rewritten the awkward way
    compose_project.down()
    compose_file = AWKWARD.format(host=registry.host, repository=stack.repository).encode()
    env_before = b"# tags live here\nTAG=1.0.0\nOTHER='x y'\n"
    compose_project.compose_file.write_bytes(compose_file)
    (compose_project.directory / ".env").write_bytes(env_before)
    compose_project.up()
    from deployments.discovery import discover_services

    discover_services()
    baseline = Baseline.take(compose_project)

    call_command("deploy", stack.key, "1.1.0")

    target = {
        compose_project.compose_file: compose_file,
        compose_project.directory / ".env": env_before.replace(b"TAG=1.0.0", b"TAG=1.1.0"),
    }
    assert assert_nothing_lost(baseline, attempts=1, target_files=target) == VERIFIED
    assert compose_project.compose_file.read_bytes() == compose_file  # byte for byte, CRLF and all
    assert (compose_project.directory / ".env").read_bytes() == target[compose_project.directory / ".env"]


@pytest.fixture
def full_disk(tmp_path: Path):
    """A 256 KiB tmpfs, mounted for the test and filled to the last byte after the project is on it."""
    mountpoint = tmp_path / "small-disk"
    mountpoint.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mountpoint)], check=True)

    def fill() -> None:
        fd = os.open(mountpoint / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            while os.write(fd, b"\0" * 4096):
                pass
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
        finally:
            os.close(fd)

    try:
        yield mountpoint, fill
    finally:
        subprocess.run(["umount", "-l", str(mountpoint)], check=False)


def test_21_disk_full_during_the_write_leaves_the_file_and_containers_alone(make_stack, full_disk):
    mountpoint, fill = full_disk
    project = ComposeProjectDir(name=unique_project_name(), directory=mountpoint / "project")
    project.directory.mkdir()
    try:
        stack = make_stack(GOOD, project=project)
        container = project.containers("web")[0].id
        fill()
        with pytest.raises(CommandError, match="No space left on device"):
            call_command("deploy", stack.key, "1.1.0")
        run = DeploymentRun.objects.get(service=stack.service)
        assert run.failed_state == State.EDITING
        assert project.containers("web")[0].id == container  # no container action at all
        assert assert_nothing_lost(stack.baseline, attempts=1) == FAILED
    finally:
        project.down()

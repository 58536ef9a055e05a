"""Scenarios 5-8: the new image crashes, never turns healthy, flaps, or dies after a few seconds."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from deployments.checks import run_cycle
from deployments.models import DeploymentRun
from tests.support.docker_env import ImageSpec
from tests.support.invariants import FAILED, VERIFIED, assert_nothing_lost
from tests.support.processes import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
State = DeploymentRun.State


def deploy_fails(stack, tag: str, match: str) -> DeploymentRun:
    with pytest.raises(CommandError, match=match):
        call_command("deploy", stack.key, tag)
    return DeploymentRun.objects.filter(service=stack.service).first()


def test_05_crashing_image_is_rolled_back_within_the_window_and_not_retried(make_stack, settings):
    settings.HEALTH_TIMEOUT = 60
    stack = make_stack(
        {"1.0.0": ImageSpec("1.0.0"), "1.1.0": ImageSpec("1.1.0", "broken")}, extra="restart: unless-stopped\n"
    )
    run = deploy_fails(stack, "1.1.0", "restart|exited")
    assert "not verified within" not in run.error  # seen failing at once, not at the 60 s deadline
    assert (run.failed_state, run.restored) == (State.VERIFYING, True)
    assert "is broken" in run.log  # the container's own output, for the operator
    assert assert_nothing_lost(stack.baseline, attempts=1) == FAILED
    cycle, outcomes = run_cycle(service_key=stack.key)  # the failed image is not deployed again
    assert cycle.deploys_queued == 0 and "failed before" in outcomes[0].action


def test_06_never_healthy_image_hits_the_deadline_and_is_rolled_back(make_stack):
    stack = make_stack({"1.0.0": ImageSpec("1.0.0"), "1.1.0": ImageSpec("1.1.0", "unhealthy")})
    run = deploy_fails(stack, "1.1.0", "unhealthy")
    assert (run.failed_state, run.restored) == (State.VERIFYING, True)
    assert assert_nothing_lost(stack.baseline, attempts=1) == FAILED


def test_07_flapping_inside_the_window_is_a_failure(make_stack, settings):
    settings.STABILITY_WINDOW = 8.0  # healthy at ~1 s, unhealthy at ~3 s: inside the window
    stack = make_stack(
        {"1.0.0": ImageSpec("1.0.0"), "1.1.0": ImageSpec("1.1.0", "flap")}, extra="environment: {FLAP_AFTER: '2'}\n"
    )
    run = deploy_fails(stack, "1.1.0", "unhealthy")
    assert (run.failed_state, run.restored) == (State.VERIFYING, True)
    assert assert_nothing_lost(stack.baseline, attempts=1) == FAILED


def test_07_flapping_after_the_window_stays_succeeded(make_stack, settings):
    settings.STABILITY_WINDOW = 1.0  # verified long before the flip at ~10 s
    stack = make_stack(
        {"1.0.0": ImageSpec("1.0.0"), "1.1.0": ImageSpec("1.1.0", "flap")}, extra="environment: {FLAP_AFTER: '10'}\n"
    )
    call_command("deploy", stack.key, "1.1.0")
    wait_for(  # the flip comes after the run ended: it is not undone
        lambda: stack.project.containers("web")[0].attrs["State"]["Health"]["Status"] == "unhealthy",
        timeout=20,
        message="the container to turn unhealthy",
    )
    run = DeploymentRun.objects.get(service=stack.service)
    assert run.state == State.SUCCEEDED
    assert assert_nothing_lost(stack.baseline, attempts=1, target_files=stack.target("1.1.0")) == VERIFIED


def test_08_image_without_healthcheck_that_dies_after_3s_is_caught_by_the_window(make_stack, settings):
    settings.STABILITY_WINDOW = 6.0  # Compose saw it running; only the window can catch the exit
    stack = make_stack(
        {"1.0.0": ImageSpec("1.0.0"), "1.1.0": ImageSpec("1.1.0", "dies")}, extra="environment: {DIE_AFTER: '3'}\n"
    )
    run = deploy_fails(stack, "1.1.0", "exited with code 1")
    assert (run.failed_state, run.restored) == (State.VERIFYING, True)
    assert "died" in run.log
    assert assert_nothing_lost(stack.baseline, attempts=1) == FAILED

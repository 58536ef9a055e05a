"""Scenarios 13 and 14: a newer tag while a deploy runs, and a rollback clicked during an auto-deploy; and an
approval that no longer names what the registry serves."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from deployments import engine, services
from deployments.checks import run_cycle
from deployments.models import DeploymentRun, Revision, Service, UpdateMode
from tests.support.chaos import Background
from tests.support.docker_env import ImageSpec
from tests.support.invariants import FAILED, VERIFIED, assert_nothing_lost
from tests.support.stacks import publish

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
State = DeploymentRun.State


def test_13_two_tags_back_to_back_deploy_one_at_a_time_in_order(make_stack, registry, pause_points):
    stack = make_stack({"1.0.0": ImageSpec("1.0.0"), "1.1.0": ImageSpec("1.1.0")})
    points = pause_points("replacing")
    run_cycle(service_key=stack.key)
    [first] = DeploymentRun.objects.filter(service=stack.service)
    worker = Background(lambda: engine.execute(first.pk))
    worker.start()
    points.wait("replacing")
    publish(registry.host, stack.repository, "1.2.0", ImageSpec("1.2.0"))  # pushed mid-deploy
    cycle, outcomes = run_cycle(service_key=stack.key)
    assert cycle.deploys_queued == 0 and "in progress" in outcomes[0].action  # never two at once
    points.resume("replacing", first.pk)
    worker.join_result()

    run_cycle(service_key=stack.key)
    second = DeploymentRun.objects.filter(service=stack.service).exclude(pk=first.pk).get()
    points.disarm()
    engine.execute(second.pk)

    runs = list(DeploymentRun.objects.filter(service=stack.service).order_by("pk"))
    assert [(r.to_tag, r.state) for r in runs] == [("1.1.0", State.SUCCEEDED), ("1.2.0", State.SUCCEEDED)]
    assert runs[0].finished_at <= runs[1].started_at  # one at a time
    history = list(
        Revision.objects.filter(service=stack.service).order_by("created_at", "pk").values_list("tag", flat=True)
    )
    assert history == ["1.0.0", "1.1.0", "1.2.0"]
    assert assert_nothing_lost(stack.baseline, attempts=2, target_files=stack.target("1.2.0")) == VERIFIED


def test_14_rollback_requested_during_an_auto_deploy_is_refused_clearly(make_stack, pause_points):
    stack = make_stack({"1.0.0": ImageSpec("1.0.0"), "1.1.0": ImageSpec("1.1.0")})
    points = pause_points("replacing")
    run_cycle(service_key=stack.key)
    [auto] = DeploymentRun.objects.filter(service=stack.service)
    worker = Background(lambda: engine.execute(auto.pk))
    worker.start()
    points.wait("replacing")

    with pytest.raises(CommandError, match="already in progress"):
        call_command("rollback", stack.key, "1.0.0")
    assert DeploymentRun.objects.filter(service=stack.service).count() == 1  # nothing runs beside it

    points.resume("replacing", auto.pk)
    worker.join_result()
    points.disarm()  # the rollback, once allowed, runs straight through
    call_command("rollback", stack.key, "1.0.0")
    rollback = DeploymentRun.objects.filter(service=stack.service).first()
    assert (rollback.trigger, rollback.state) == (DeploymentRun.Trigger.ROLLBACK, State.SUCCEEDED)
    assert assert_nothing_lost(stack.baseline, attempts=2) == VERIFIED


def test_an_approved_tag_pushed_again_before_the_pull_is_not_deployed(make_stack, registry):
    stack = make_stack({"1.0.0": ImageSpec("1.0.0"), "1.1.0": ImageSpec("1.1.0")})
    Service.objects.filter(pk=stack.service.pk).update(update_mode=UpdateMode.NOTIFY)
    run_cycle(service_key=stack.key)
    offered = stack.refresh()
    assert offered.available_tag == "1.1.0" and offered.available_digest.startswith("sha256:")
    assert not offered.runs.exists()  # notify mode: it waits for a person

    publish(registry.host, stack.repository, "1.1.0", ImageSpec("1.1.1"))  # someone re-pushes 1.1.0
    run = services.service_approve(
        service=offered,
        tag="1.1.0",
        digest=offered.available_digest,
        generation=offered.deploy_generation,
        user=None,
    )
    engine.execute(run.pk)

    run.refresh_from_db()
    assert (run.state, run.failed_state) == (State.FAILED, State.PULLING)
    assert f"not the approved {offered.available_digest}" in run.error
    assert assert_nothing_lost(stack.baseline, attempts=1) == FAILED

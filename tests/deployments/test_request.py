"""Claiming a service, fencing stale writers, and choosing rollback targets."""

import pytest

from deployments.engine.request import (
    DeployConflict,
    DeployRequestError,
    deployment_request,
    rollback_request,
    rollback_target,
)
from deployments.engine.state import RunContext, StaleRun, finish, take_over
from deployments.models import DeploymentRun, Service
from tests.factories import RevisionFactory, ServiceFactory

pytestmark = pytest.mark.django_db
State = DeploymentRun.State


def request(service, tag="1.1.0"):
    return deployment_request(service=service, tag=tag, trigger=DeploymentRun.Trigger.MANUAL)


def test_request_marks_the_service_deploying_before_anything_runs():
    service = ServiceFactory()
    run = request(service)
    service.refresh_from_db()
    assert service.active_run_id == run.pk
    assert run.state == State.PENDING
    assert run.generation == service.deploy_generation == 1


def test_second_request_for_the_same_service_is_a_conflict():
    service = ServiceFactory()
    request(service)
    with pytest.raises(DeployConflict):
        request(Service.objects.get(pk=service.pk), "1.2.0")
    assert DeploymentRun.objects.filter(service=service).count() == 1


@pytest.mark.parametrize("tag", ["$(reboot)", ";rm -rf /", "../etc", "a" * 129, "1.0\n", "", "-flag"])
def test_request_refuses_tags_outside_the_oci_grammar(tag):
    service = ServiceFactory()
    with pytest.raises(DeployRequestError):
        request(service, tag)
    service.refresh_from_db()
    assert service.active_run_id is None
    assert not DeploymentRun.objects.exists()


def test_a_stale_worker_cannot_write_after_a_take_over():
    run = request(ServiceFactory())
    stale = RunContext(DeploymentRun.objects.get(pk=run.pk))
    stale.advance(State.EDITING)
    take_over(DeploymentRun.objects.get(pk=run.pk))
    with pytest.raises(StaleRun):
        stale.advance(State.PULLING)
    with pytest.raises(StaleRun):
        stale.heartbeat()
    assert DeploymentRun.objects.get(pk=run.pk).state == State.EDITING


def test_duplicate_delivery_cannot_claim_the_same_pending_run_twice():
    run = request(ServiceFactory())
    first = RunContext(DeploymentRun.objects.get(pk=run.pk))
    second = RunContext(DeploymentRun.objects.get(pk=run.pk))
    first.advance(State.EDITING)
    with pytest.raises(StaleRun):
        second.advance(State.EDITING)


def test_finish_releases_the_service_and_keeps_the_log():
    service = ServiceFactory()
    ctx = RunContext(request(service))
    ctx.advance(State.EDITING)
    ctx.note("did a thing")
    finish(ctx, State.SUCCEEDED, service_fields={"current_tag": "1.1.0"})
    service.refresh_from_db()
    run = DeploymentRun.objects.get(pk=ctx.run.pk)
    assert service.active_run_id is None
    assert service.current_tag == "1.1.0"
    assert run.finished_at is not None
    assert "did a thing" in run.log


def test_rollback_target_defaults_to_the_revision_before_the_current_one():
    service = ServiceFactory(current_tag="1.1.0", current_digest="sha256:" + "c" * 64)
    older = RevisionFactory(service=service, tag="1.0.0")
    RevisionFactory(service=service, tag="1.1.0", digest=service.current_digest)
    assert rollback_target(service) == older


def test_rollback_to_an_unknown_tag_names_the_known_ones():
    service = ServiceFactory()
    RevisionFactory(service=service, tag="1.0.0")
    with pytest.raises(DeployRequestError, match=r"known: 1\.0\.0"):
        rollback_target(service, "9.9.9")


def test_rollback_request_carries_the_revision_digest_and_image():
    service = ServiceFactory(current_tag="1.1.0")
    revision = RevisionFactory(service=service, tag="1.0.0", image_id="sha256:" + "e" * 64)
    run = rollback_request(service=service)
    assert (run.trigger, run.to_tag, run.to_digest, run.to_image_id, run.rollback_of) == (
        DeploymentRun.Trigger.ROLLBACK,
        "1.0.0",
        revision.digest,
        revision.image_id,
        revision,
    )


def test_a_second_deploy_in_the_same_project_waits_for_the_first(db):
    from deployments.engine import execute
    from deployments.locks import project_lease

    service = ServiceFactory()
    run = request(service)
    with project_lease(service.project_id) as held:
        assert held is not None
        assert execute(run.pk) is False  # busy: the task retries later
    assert DeploymentRun.objects.get(pk=run.pk).state == State.PENDING


def test_reconcile_requeues_a_pending_run_whose_message_was_lost(db):
    from datetime import timedelta

    from django.utils import timezone

    from deployments.engine import reconcile

    run = request(ServiceFactory())
    DeploymentRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(hours=1))
    assert reconcile().requeue == [run.pk]
    assert reconcile().requeue == []  # stamped: not re-queued again until it is stale once more


# --- Runs that fail before their first write, the project claim, the derived constraint -----------


@pytest.fixture
def compose_is(settings, tmp_path):
    """Point the engine at a Compose that is missing or hangs (re-detected for the test, then reset)."""
    from deployments.docker import compose_command

    def use(kind: str) -> None:
        if kind == "missing":
            settings.COMPOSE_COMMAND = str(tmp_path / "no-such-compose")
        else:
            script = tmp_path / "hanging-compose"
            script.write_text("#!/bin/sh\nexec sleep 30\n")
            script.chmod(0o755)
            settings.COMPOSE_COMMAND = str(script)
            settings.COMPOSE_VERSION_TIMEOUT = 1
        compose_command.cache_clear()

    yield use
    compose_command.cache_clear()


@pytest.mark.parametrize("kind", ["missing", "hanging"])
def test_a_run_that_cannot_find_compose_ends_failed_and_releases_the_service(compose_is, kind):
    from deployments.engine import execute
    from deployments.models import ComposeProject

    compose_is(kind)
    service = ServiceFactory()
    run = request(service)
    assert execute(run.pk) is True
    run.refresh_from_db()
    service.refresh_from_db()
    assert run.state == State.FAILED
    assert "Docker Compose not found" in run.error
    assert run.restored and "nothing had changed" in run.log
    assert service.active_run_id is None
    assert ComposeProject.objects.get(pk=service.project_id).deploy_run_id is None


def test_a_pending_run_requeued_too_often_without_progress_ends_failed(settings):
    from datetime import timedelta

    from django.utils import timezone

    from deployments.engine import reconcile

    settings.DEPLOY_MAX_REQUEUES = 2
    service = ServiceFactory()
    run = request(service)
    created = timezone.now() - timedelta(hours=1)
    DeploymentRun.objects.filter(pk=run.pk).update(created_at=created)
    later = timezone.now()
    outcomes = []
    for _ in range(4):  # each reconcile one stale period after the previous one
        result = reconcile(now=later)
        outcomes.append((result.requeue, result.failed))
        later += timedelta(seconds=settings.DEPLOY_STALE_AFTER + 1)
    assert outcomes == [([run.pk], []), ([run.pk], []), ([], [run.pk]), ([], [])]
    run.refresh_from_db()
    service.refresh_from_db()
    assert (run.state, run.failed_state) == (State.FAILED, State.PENDING)
    assert "no worker started this deploy after 2 re-queues" in run.error
    assert service.active_run_id is None


def test_a_waiting_run_is_not_requeued_while_its_task_is_alive(settings):
    from datetime import timedelta

    from django.utils import timezone

    from deployments.engine import claims, reconcile

    run = request(ServiceFactory())
    DeploymentRun.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(hours=1), requeue_count=3)
    claims.touch_waiting(DeploymentRun.objects.get(pk=run.pk))
    assert reconcile().requeue == []
    assert DeploymentRun.objects.get(pk=run.pk).requeue_count == 0


def test_with_redis_down_the_project_claim_still_serialises_deploys(redis_unreachable, compose_is):
    from deployments.engine import claims, execute
    from deployments.models import ComposeProject

    compose_is("missing")  # the second deploy, once it may start, ends quickly
    first = ServiceFactory()
    second = ServiceFactory(project=first.project)
    running = RunContext(DeploymentRun.objects.select_related("service").get(pk=request(first).pk))
    assert claims.start_run(running)
    waiting = request(second)

    assert execute(waiting.pk) is False  # the lease was granted, the claim was not
    waiting.refresh_from_db()
    assert waiting.state == State.PENDING and waiting.heartbeat_at is not None
    assert ComposeProject.objects.get(pk=first.project_id).deploy_run_id == running.run.pk

    finish(running, State.SUCCEEDED)
    assert ComposeProject.objects.get(pk=first.project_id).deploy_run_id is None
    assert execute(waiting.pk) is True
    assert DeploymentRun.objects.get(pk=waiting.pk).state == State.FAILED


def test_a_claim_left_by_a_finished_run_does_not_block_the_project():
    from deployments.engine import claims
    from deployments.models import ComposeProject

    service = ServiceFactory()
    old = request(service)
    DeploymentRun.objects.filter(pk=old.pk).update(state=State.FAILED)
    Service.objects.filter(pk=service.pk).update(active_run=None)
    ComposeProject.objects.filter(pk=service.project_id).update(deploy_run=old)
    new = request(Service.objects.get(pk=service.pk), "1.2.0")
    assert claims.claim_project(new)
    assert ComposeProject.objects.get(pk=service.project_id).deploy_run_id == new.pk


def test_the_one_active_run_index_is_derived_from_the_active_states():
    from deployments.models import ACTIVE_RUN_STATES, one_active_run_constraint

    [constraint] = DeploymentRun._meta.constraints
    assert constraint == one_active_run_constraint(DeploymentRun.ACTIVE_STATES)
    assert DeploymentRun.ACTIVE_STATES is ACTIVE_RUN_STATES
    # A state added to the tuple changes the index (and `makemigrations --check` then asks for a migration).
    assert one_active_run_constraint((*ACTIVE_RUN_STATES, "queued")) != constraint


@pytest.mark.parametrize("state", DeploymentRun.ACTIVE_STATES)
def test_the_database_refuses_a_second_active_run_in_every_active_state(state):
    from django.db import IntegrityError, transaction

    service = ServiceFactory()
    DeploymentRun.objects.create(service=service, generation=1, trigger="auto", to_tag="1.1.0", state=state)
    with pytest.raises(IntegrityError), transaction.atomic():
        DeploymentRun.objects.create(service=service, generation=2, trigger="auto", to_tag="1.2.0")

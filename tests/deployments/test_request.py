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

"""Backoff after deploys that failed before replacing anything, and how the check honours it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from deployments.checks import ServiceOutcome, _Decisions
from deployments.engine.backoff import backoff_delay, deploy_backoff, fields_after_failure
from deployments.engine.request import deployment_request
from deployments.engine.restore import restore_and_fail
from deployments.engine.state import RunContext
from deployments.models import CheckCycle, DeploymentRun, Service
from tests.factories import ServiceFactory

pytestmark = pytest.mark.django_db
State = DeploymentRun.State
DIGEST = "sha256:" + "e" * 64
OTHER = "sha256:" + "f" * 64


@pytest.fixture(autouse=True)
def short_backoff(settings):
    settings.DEPLOY_BACKOFF_BASE = 60
    settings.DEPLOY_BACKOFF_MAX = 300


def fail_before_replace(
    service: Service, tag: str = "1.2.0", digest: str = DIGEST, step=State.PULLING
) -> DeploymentRun:
    """A real run through the engine's own failure path: claimed, advanced to `step`, failed, released."""
    run = deployment_request(service=service, tag=tag, trigger=DeploymentRun.Trigger.AUTO, digest=digest)
    ctx = RunContext(DeploymentRun.objects.select_related("service__project").get(pk=run.pk))
    ctx.advance(State.EDITING)
    if step != State.EDITING:
        ctx.advance(step)
    restore_and_fail(ctx, "`pull` failed with exit code 1: no matching manifest for linux/amd64")
    return DeploymentRun.objects.get(pk=run.pk)


def test_the_wait_doubles_and_is_capped():
    assert [backoff_delay(n).total_seconds() for n in (1, 2, 3, 4, 5)] == [60, 120, 240, 300, 300]


def test_a_pull_failure_backs_off_and_says_why_on_the_service():
    service = ServiceFactory()
    fail_before_replace(service)
    service.refresh_from_db()
    message = deploy_backoff(service, "1.2.0", DIGEST)
    assert message.startswith("retrying 1.2.0 in 1 min (after 1 failed attempt): pulling image failed: `pull` failed")
    assert service.backoff_until - timezone.now() <= timedelta(seconds=60)


def test_repeated_failures_of_one_target_wait_longer_each_time():
    service = ServiceFactory()
    for expected in (1, 2, 3):
        fail_before_replace(Service.objects.get(pk=service.pk))
        service.refresh_from_db()
        assert service.backoff_failures == expected
    assert "in 4 min (after 3 failed attempts)" in deploy_backoff(service, "1.2.0", DIGEST)


def test_a_new_digest_another_tag_or_the_end_of_the_wait_is_a_fresh_attempt():
    service = ServiceFactory()
    fail_before_replace(service)
    service.refresh_from_db()
    assert deploy_backoff(service, "1.2.0", OTHER) is None
    assert deploy_backoff(service, "1.3.0", DIGEST) is None
    assert deploy_backoff(service, "1.2.0", DIGEST, now=timezone.now() + timedelta(seconds=61)) is None


def test_a_failure_after_the_replace_clears_the_backoff_the_failed_image_rule_takes_over():
    service = ServiceFactory()
    fail_before_replace(service)
    run = fail_before_replace(Service.objects.get(pk=service.pk), step=State.VERIFYING)
    assert run.failed_state == State.VERIFYING
    service.refresh_from_db()
    assert (service.backoff_tag, service.backoff_until) == ("", None)


def test_the_check_does_not_deploy_a_target_that_is_backing_off():
    service = ServiceFactory()
    fail_before_replace(service)
    service.refresh_from_db()
    decisions = _Decisions(CheckCycle.objects.create(), [service])
    outcome = ServiceOutcome(service, available_tag="1.2.0", available_digest=DIGEST)
    assert decisions._blocker(outcome).startswith("retrying 1.2.0 in 1 min")
    fresh = ServiceOutcome(service, available_tag="1.2.0", available_digest=OTHER)
    assert decisions._blocker(fresh) is None


def test_fields_after_a_failure_for_another_target_start_counting_again():
    service = ServiceFactory(backoff_tag="1.1.0", backoff_digest=OTHER, backoff_failures=4)
    run = DeploymentRun(service=service, to_tag="1.2.0", to_digest=DIGEST, failed_state=State.PULLING)
    assert fields_after_failure(run, "boom")["backoff_failures"] == 1

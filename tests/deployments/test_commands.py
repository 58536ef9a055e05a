"""The ops commands' contract: one clear line and a non-zero exit on errors; --queue hands work to Celery."""

import io

import pytest
from django.core.management import CommandError, call_command

from deployments.models import DeploymentRun
from tests.factories import RevisionFactory, ServiceFactory

pytestmark = pytest.mark.django_db


def key(service) -> str:
    return f"{service.project.name}/{service.name}"


def test_deploy_queue_creates_a_pending_run_and_queues_it_after_commit(django_capture_on_commit_callbacks, monkeypatch):
    sent = []
    monkeypatch.setattr(
        "deployments.dispatch.app.send_task", lambda name, args, queue: sent.append((name, args, queue))
    )
    service = ServiceFactory()
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("deploy", key(service), "1.1.0", "--queue", stdout=out)
    run = DeploymentRun.objects.get()
    assert (run.state, run.trigger, run.to_tag) == (DeploymentRun.State.PENDING, "manual", "1.1.0")
    assert sent == [("deployments.tasks.deploy", [run.pk], "host.local")]  # to the agent of its host
    assert f"queued run {run.pk}" in out.getvalue()


def test_rollback_without_history_is_one_clear_error():
    service = ServiceFactory()
    with pytest.raises(CommandError, match="no earlier revision"):
        call_command("rollback", key(service))


def test_rollback_queue_targets_the_previous_revision(django_capture_on_commit_callbacks, monkeypatch):
    monkeypatch.setattr("deployments.dispatch.app.send_task", lambda name, args, queue: None)
    service = ServiceFactory(current_tag="1.1.0")
    RevisionFactory(service=service, tag="1.0.0")
    with django_capture_on_commit_callbacks(execute=True):
        call_command("rollback", key(service), "--queue", stdout=io.StringIO())
    assert DeploymentRun.objects.get().to_tag == "1.0.0"


def test_deploy_while_another_deploy_runs_is_refused():
    service = ServiceFactory()
    call_command("deploy", key(service), "1.1.0", "--queue", stdout=io.StringIO())
    with pytest.raises(CommandError, match="already in progress"):
        call_command("deploy", key(service), "1.2.0", "--queue")


@pytest.mark.e2e
def test_check_updates_for_an_unknown_service_fails_clearly():
    with pytest.raises(CommandError, match="no running service 'nope/web'"):
        call_command("check_updates", "--service", "nope/web", "--dry-run", stdout=io.StringIO())

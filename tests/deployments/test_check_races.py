"""Races between the check cycle, deploys and the admin: a decision holds only for the state it was read from,
and every writer touches only the fields it owns."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from deployments.checks import run_cycle
from deployments.discovery import discover_services
from deployments.engine.request import StaleDecision, deployment_request
from deployments.engine.state import RunContext, finish
from deployments.forms import ServicePolicyForm
from deployments.models import DeploymentRun, Service
from tests.factories import ComposeProjectFactory, ServiceFactory
from tests.support.fake_registry import FakeResponse

State = DeploymentRun.State
TAGS = FakeResponse(200, {"tags": ["1.0.0", "1.1.0"]})
DIGEST = FakeResponse(200, headers={"Docker-Content-Digest": "sha256:" + "1" * 64})  # for checks that HEAD 1.1.0


def rollback_to_1_0_0(service_id: int) -> None:
    """What `manage.py rollback P/web 1.0.0` leaves behind after 1.1.0 was deployed: a finished rollback run."""
    with transaction.atomic():
        run = deployment_request(
            service=Service.objects.select_related("project").get(pk=service_id),
            tag="1.0.0",
            trigger=DeploymentRun.Trigger.ROLLBACK,
        )
        finish(RunContext(run), State.SUCCEEDED, service_fields={"current_tag": "1.0.0", "ignored_tags": ["1.1.0"]})


@pytest.mark.django_db(transaction=True)
def test_a_rollback_committed_while_the_check_asks_the_registry_is_not_rolled_forward(engine_seam, fake_registry):
    engine_seam.run("shop", "web", f"{fake_registry.host}/team/web:1.0.0")

    def rollback_meanwhile(request):
        try:  # the registry answers while, elsewhere, a rollback commits
            rollback_to_1_0_0(Service.objects.get(project__name="shop", name="web").pk)
        finally:
            connection.close()  # this runs in the emulated registry's thread
        return TAGS

    fake_registry.handler("GET", "/v2/team/web/tags/list", rollback_meanwhile)
    fake_registry.route("HEAD", "/v2/team/web/manifests/1.1.0", DIGEST)
    cycle, [outcome] = run_cycle()

    service = Service.objects.get(project__name="shop", name="web")
    assert outcome.available_tag == "1.1.0"  # decided from the state read before the rollback...
    assert not service.runs.filter(trigger=DeploymentRun.Trigger.AUTO).exists()  # ...and dropped
    assert (service.current_tag, service.active_run_id, cycle.deploys_queued) == ("1.0.0", None, 0)
    assert "changed since it was checked" in outcome.action


@pytest.mark.django_db(transaction=True)
def test_an_update_ignored_in_the_admin_while_the_check_runs_is_not_deployed(engine_seam, fake_registry):
    engine_seam.run("shop", "web", f"{fake_registry.host}/team/web:1.0.0")

    def ignore_meanwhile(request):
        try:  # the generation does not change: only the policy the decision was made from
            Service.objects.filter(project__name="shop", name="web").update(ignored_tags=["1.1.0"])
        finally:
            connection.close()
        return TAGS

    fake_registry.handler("GET", "/v2/team/web/tags/list", ignore_meanwhile)
    fake_registry.route("HEAD", "/v2/team/web/manifests/1.1.0", DIGEST)
    _, [outcome] = run_cycle()
    assert not DeploymentRun.objects.exists()
    assert "changed since it was checked" in outcome.action


@pytest.mark.django_db
def test_a_claim_with_a_stale_generation_is_refused():
    service = ServiceFactory()
    read = Service.objects.get(pk=service.pk)
    deployment_request(service=service, tag="1.1.0", trigger=DeploymentRun.Trigger.MANUAL)
    with pytest.raises(StaleDecision):
        deployment_request(
            service=read, tag="1.2.0", trigger=DeploymentRun.Trigger.AUTO, expected_generation=read.deploy_generation
        )
    assert DeploymentRun.objects.count() == 1


def discovered_service(**fields) -> Service:
    project = ComposeProjectFactory(name="shop", working_dir="/srv/shop", config_files=["/srv/shop/compose.yaml"])
    return ServiceFactory(
        project=project,
        name="web",
        repository="registry.example.com/team/web",
        image="registry.example.com/team/web:1.0.0",
        current_image_id="sha256:" + "0" * 64,
        **fields,
    )


@pytest.mark.django_db
def test_discovery_never_overwrites_a_claim_that_commits_while_it_asks_docker(engine_seam):
    service = discovered_service()
    engine_seam.run("shop", "web", "registry.example.com/team/web:1.0.1")  # changed outside the updater
    claimed = []
    engine_seam.on_image_info = lambda _: claimed.append(
        deployment_request(service=Service.objects.get(pk=service.pk), tag="1.1.0", trigger="manual")
    )

    result = discover_services()

    assert claimed, "the image was inspected after the rows were read"
    service.refresh_from_db()
    assert (service.active_run_id, service.deploy_generation) == (claimed[0].pk, 1)
    assert service.current_tag == "1.0.0"  # the claimed service's facts are the deploy's to record
    assert service.pk in result.stale


@pytest.mark.django_db
def test_discovery_does_not_record_what_ran_before_a_deploy_that_finished_meanwhile(engine_seam):
    service = discovered_service()
    engine_seam.run("shop", "web", "registry.example.com/team/web:1.0.1")

    def deploy_meanwhile(_):
        run = deployment_request(service=Service.objects.get(pk=service.pk), tag="1.1.0", trigger="manual")
        finish(RunContext(run), State.SUCCEEDED, service_fields={"current_tag": "1.1.0"})

    engine_seam.on_image_info = deploy_meanwhile
    discover_services()
    service.refresh_from_db()
    assert service.current_tag == "1.1.0"  # the deploy's record, not the older container list's


@pytest.mark.django_db
def test_discovery_writes_only_the_facts_it_owns(engine_seam):
    service = discovered_service()
    engine_seam.run("shop", "web", "registry.example.com/team/web:1.0.1")
    engine_seam.on_image_info = lambda _: Service.objects.filter(pk=service.pk).update(
        ignored_tags=["1.1.0"], pinned_tag="1.0.1", automation_paused="restore failed"
    )
    discover_services()
    service.refresh_from_db()
    assert service.current_tag == "1.0.1"
    assert (service.ignored_tags, service.pinned_tag, service.automation_paused) == (
        ["1.1.0"],
        "1.0.1",
        "restore failed",
    )


@pytest.mark.django_db
def test_the_admin_saves_only_the_policy_it_edits(client, owner, monkeypatch):
    service = ServiceFactory()
    clean = ServicePolicyForm.clean
    claimed = []

    def clean_while_a_deploy_is_claimed(form):
        claimed.append(deployment_request(service=Service.objects.get(pk=service.pk), tag="1.1.0", trigger="manual"))
        Service.objects.filter(pk=service.pk).update(current_tag="1.0.5", available_tag="1.1.0")
        return clean(form)

    monkeypatch.setattr(ServicePolicyForm, "clean", clean_while_a_deploy_is_claimed)
    client.force_login(owner)
    data = {"update_mode": "notify", "pinned_tag": "", "ignored_tags": "[]", "ignored_digests": "[]"}
    response = client.post(f"/admin/deployments/service/{service.pk}/change/", data)

    assert response.status_code == 302
    service.refresh_from_db()
    assert service.update_mode == "notify"
    assert (service.active_run_id, service.deploy_generation) == (claimed[0].pk, 1)
    assert (service.current_tag, service.available_tag) == ("1.0.5", "1.1.0")

"""The check cycle as a whole: what one cycle costs, how it survives a dead registry or a failing discovery,
and services that are gone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models.signals import post_init
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from deployments import checks
from deployments.checks import run_cycle
from deployments.docker import DockerError
from deployments.events import EventKind, subscribe, unsubscribe
from deployments.models import CheckCycle, DeploymentRun, Service
from deployments.registry_checks import PER_HOST_CONCURRENCY
from deployments.selectors import service_status, service_status_list
from registries.models import RegistryHealth
from tests.factories import DeploymentRunFactory, ServiceFactory
from tests.support.fake_registry import FakeResponse

pytestmark = pytest.mark.django_db
State = DeploymentRun.State


@pytest.fixture
def events():
    seen = []
    subscribe(seen.append)
    yield seen
    unsubscribe(seen.append)


@pytest.fixture
def quick_registry_client(settings):
    settings.REGISTRY_TIMEOUT = 0.5
    settings.REGISTRY_RETRIES = 1


def kinds(events, *wanted):
    return [event.kind for event in events if event.kind in wanted]


def by_name(outcomes):
    return {outcome.service.name: outcome for outcome in outcomes}


def tag_list(*tags: str) -> FakeResponse:
    return FakeResponse(200, {"tags": list(tags)})


# --- one dead registry ---------------------------------------------------------------------------


@pytest.mark.usefixtures("quick_registry_client")
@pytest.mark.django_db(transaction=True)  # events are published on commit
def test_a_registry_that_does_not_answer_is_asked_once_per_cycle_and_reported_once(
    engine_seam, fake_registry, other_fake_registry, events
):
    silent = FakeResponse(200, {"tags": ["1.0.0"]}, delay=3)  # answers after the client gave up
    for index in range(6):
        fake_registry.route("GET", f"/v2/dead/app{index}/tags/list", silent)
        engine_seam.run("shop", f"dead{index}", f"{fake_registry.host}/dead/app{index}:1.0.0")
    other_fake_registry.route("GET", "/v2/live/app/tags/list", tag_list("1.0.0", "1.1.0"))
    engine_seam.run("shop", "live", f"{other_fake_registry.host}/live/app:1.0.0")

    def asked() -> int:
        return sum(1 for request in fake_registry.requests if request.path.endswith("/tags/list"))

    cycle, outcomes = run_cycle(dry_run=True)
    first_wave = asked()
    # Old behaviour: every repository paid its own timeouts and retries (6 x 2 requests).
    assert first_wave <= PER_HOST_CONCURRENCY
    outcome = by_name(outcomes)
    assert outcome["live"].action == "would deploy 1.1.0"
    dead_errors = {outcome[f"dead{index}"].error for index in range(6)}
    assert len(dead_errors) == 1 and fake_registry.host in dead_errors.pop()
    assert len(cycle.errors) == 1 and "6 services not checked" in cycle.errors[0]
    assert kinds(events, EventKind.REGISTRY_UNREACHABLE) == [EventKind.REGISTRY_UNREACHABLE]
    assert not RegistryHealth.objects.get(host=fake_registry.host).reachable

    run_cycle(dry_run=True)  # still down: one probe, no second report
    assert asked() == first_wave + 1
    assert kinds(events, EventKind.REGISTRY_UNREACHABLE, EventKind.REGISTRY_RECOVERED) == [
        EventKind.REGISTRY_UNREACHABLE
    ]

    for index in range(6):
        fake_registry.route("GET", f"/v2/dead/app{index}/tags/list", tag_list("1.0.0"))
    _, outcomes = run_cycle(dry_run=True)
    assert all(not outcome.error for outcome in outcomes)
    assert kinds(events, EventKind.REGISTRY_UNREACHABLE, EventKind.REGISTRY_RECOVERED) == [
        EventKind.REGISTRY_UNREACHABLE,
        EventKind.REGISTRY_RECOVERED,
    ]
    assert RegistryHealth.objects.get(host=fake_registry.host).reachable


# --- the cycle always ends -----------------------------------------------------------------------


def test_a_discovery_error_ends_the_cycle_failed_with_the_reason(engine_seam):
    engine_seam.fail_with = DockerError("cannot list containers: engine gone")
    cycle, outcomes = run_cycle()
    cycle = CheckCycle.objects.get(pk=cycle.pk)
    assert (cycle.state, outcomes) == (CheckCycle.State.FAILED, [])
    assert "engine gone" in cycle.errors[0] and cycle.finished_at


def test_an_unexpected_error_ends_the_cycle_failed_and_is_raised(engine_seam):
    engine_seam.fail_with = RuntimeError("a bug")
    with pytest.raises(RuntimeError):
        run_cycle()
    cycle = CheckCycle.objects.get()
    assert cycle.state == CheckCycle.State.FAILED and "a bug" in cycle.errors[0]


def test_a_cycle_abandoned_by_a_dead_worker_is_closed_by_the_next_one(engine_seam):
    abandoned = CheckCycle.objects.create()
    CheckCycle.objects.filter(pk=abandoned.pk).update(started_at=timezone.now() - timedelta(minutes=10))
    run_cycle()
    abandoned.refresh_from_db()
    assert abandoned.state == CheckCycle.State.FAILED and "abandoned" in abandoned.errors[0]


def test_the_periodic_check_renews_its_lease_while_the_cycle_runs(monkeypatch):
    from deployments import tasks
    from deployments.locks import redis_client

    key = "updater:lease:check-cycle"
    redis_client().delete(key)
    remaining = []

    def cycle_that_outlives_its_lease(**options):
        redis_client().pexpire(key, 500)  # as if the cycle had run for almost all of its lease
        options["on_tick"]()
        remaining.append(redis_client().pttl(key))
        return CheckCycle.objects.create(), []

    monkeypatch.setattr(tasks.checks, "run_cycle", cycle_that_outlives_its_lease)
    tasks.check_all()
    assert remaining and remaining[0] > 30_000


def test_a_slow_cycle_ticks_while_registries_answer(engine_seam, fake_registry, monkeypatch):
    monkeypatch.setattr(checks, "HEARTBEAT_SECONDS", 0)
    fake_registry.route("GET", "/v2/team/app/tags/list", FakeResponse(200, {"tags": ["1.0.0"]}, delay=1.5))
    engine_seam.run("shop", "web", f"{fake_registry.host}/team/app:1.0.0")
    ticks = []
    cycle, _ = run_cycle(dry_run=True, on_tick=lambda: ticks.append(1))
    assert ticks and CheckCycle.objects.get(pk=cycle.pk).heartbeat_at > cycle.started_at


# --- gone services -------------------------------------------------------------------------------


def test_a_service_whose_containers_are_gone_is_gone_unchecked_and_keeps_its_history(engine_seam, fake_registry):
    fake_registry.route("GET", "/v2/team/app/tags/list", tag_list("1.0.0"))
    engine_seam.run("shop", "web", f"{fake_registry.host}/team/app:1.0.0")
    engine_seam.run("shop", "db", f"{fake_registry.host}/team/app:1.0.0")
    run_cycle(dry_run=True)
    engine_seam.remove("shop", "web")

    _, outcomes = run_cycle(dry_run=True)

    web = Service.objects.get(name="web")
    assert [outcome.service.name for outcome in outcomes] == ["db"]
    assert service_status(web, None).label == "Gone"
    assert web.revisions.count() == 1


def test_a_stopped_service_whose_containers_are_then_removed_is_gone_too(engine_seam, fake_registry):
    engine_seam.run("shop", "web", f"{fake_registry.host}/team/app:1.0.0", status="exited")
    run_cycle(dry_run=True)
    engine_seam.remove("shop", "web")
    run_cycle(dry_run=True)
    assert service_status(Service.objects.get(name="web"), None).label == "Gone"


def test_a_gone_service_that_comes_back_is_checked_again(engine_seam, fake_registry):
    fake_registry.route("GET", "/v2/team/app/tags/list", tag_list("1.0.0", "1.1.0"))
    engine_seam.run("shop", "web", f"{fake_registry.host}/team/app:1.0.0")
    run_cycle(dry_run=True)
    engine_seam.remove("shop", "web")
    run_cycle(dry_run=True)
    engine_seam.run("shop", "web", f"{fake_registry.host}/team/app:1.0.0")
    _, [outcome] = run_cycle(dry_run=True)
    assert outcome.action == "would deploy 1.1.0"
    assert service_status(Service.objects.get(name="web"), None).label == "Update available"


def test_only_gone_services_are_removed_in_the_admin(client, owner):
    gone = ServiceFactory(is_running=False, container_state=Service.GONE)
    DeploymentRunFactory(service=gone, state=State.FAILED)
    live = ServiceFactory()
    client.force_login(owner)
    response = client.post(
        "/admin/deployments/service/",
        {"action": "remove_gone_services", "_selected_action": [gone.pk, live.pk]},
        follow=True,
    )
    assert "Removed 1 gone service" in response.content.decode()
    assert list(Service.objects.all()) == [live]
    assert not DeploymentRun.objects.exists()
    assert client.get(f"/admin/deployments/service/{live.pk}/delete/").status_code == 403


# --- what one cycle costs ------------------------------------------------------------------------


def fleet(engine_seam, fake_registry, first: int, count: int) -> None:
    """`count` services over 5 repositories: two thirds on version tags, one third on `latest`."""
    for index in range(first, first + count):
        repository = f"fleet/app{index % 5}"
        fake_registry.route("GET", f"/v2/{repository}/tags/list", tag_list("1.0.0", "1.1.0", "latest"))
        fake_registry.route(
            "HEAD",
            f"/v2/{repository}/manifests/latest",
            FakeResponse(200, headers={"Docker-Content-Digest": "sha256:" + "e" * 64}),
        )
        tag = "latest" if index % 3 == 2 else "1.0.0"
        engine_seam.run(f"project{index // 10}", f"svc{index}", f"{fake_registry.host}/{repository}:{tag}")


def warm_cycle(engine_seam, fake_registry):
    from django.db import connection

    engine_seam.calls.clear()
    fake_registry.requests.clear()
    with CaptureQueriesContext(connection) as queries:
        _, outcomes = run_cycle(dry_run=True)
    return len(queries), dict(engine_seam.calls), len(fake_registry.requests), outcomes


def test_a_cycle_costs_the_same_queries_and_docker_calls_for_15_or_60_services(engine_seam, fake_registry):
    fleet(engine_seam, fake_registry, 0, 15)
    run_cycle(dry_run=True)
    queries_15, docker_15, requests_15, _ = warm_cycle(engine_seam, fake_registry)

    fleet(engine_seam, fake_registry, 15, 45)
    engine_seam.calls.clear()
    run_cycle(dry_run=True)
    assert engine_seam.calls["image_info"] == 10  # one inspect per distinct new image (5 repositories x 2 tags)
    queries_60, docker_60, requests_60, outcomes = warm_cycle(engine_seam, fake_registry)

    assert queries_60 == queries_15 <= 15
    assert docker_60 == docker_15 == {"list": 1}  # image digests are known: no inspect at all
    assert requests_15 == requests_60 == 5 + 5  # one tag list per repository, one HEAD per repository:latest
    assert sum(1 for outcome in outcomes if outcome.action == "would deploy 1.1.0") == 40


@pytest.mark.django_db(transaction=True)
def test_only_check_results_a_user_sees_are_announced(engine_seam, fake_registry, events):
    fake_registry.route("GET", "/v2/team/app/tags/list", tag_list("1.0.0"))
    fake_registry.route("GET", "/v2/team/db/tags/list", tag_list("1.0.0"))
    engine_seam.run("shop", "web", f"{fake_registry.host}/team/app:1.0.0")
    engine_seam.run("shop", "db", f"{fake_registry.host}/team/db:1.0.0")
    run_cycle(dry_run=True)
    assert len(kinds(events, EventKind.SERVICE_CHANGED)) == 2
    events.clear()
    run_cycle(dry_run=True)
    assert kinds(events, EventKind.SERVICE_CHANGED) == []
    fake_registry.route("GET", "/v2/team/app/tags/list", tag_list("1.0.0", "1.1.0"))
    run_cycle(dry_run=True)
    assert [e.service_id for e in events if e.kind == EventKind.SERVICE_CHANGED] == [Service.objects.get(name="web").pk]


def test_a_version_update_without_a_digest_is_available_and_not_retried_after_it_failed(engine_seam, fake_registry):
    fake_registry.route("GET", "/v2/team/app/tags/list", tag_list("1.0.0", "1.1.0"))
    engine_seam.run("shop", "web", f"{fake_registry.host}/team/app:1.0.0")
    _, [outcome] = run_cycle(dry_run=True)
    web = Service.objects.get(name="web")
    assert (web.available_tag, web.available_digest) == ("1.1.0", "")
    assert service_status(web, None).label == "Update available"
    # 1.1.0 was deployed once and failed after it ran (the run recorded the digest it pulled).
    DeploymentRunFactory(
        service=web, to_tag="1.1.0", to_digest="sha256:" + "f" * 64, state=State.FAILED, failed_state=State.VERIFYING
    )
    _, [outcome] = run_cycle()
    assert "1.1.0 failed before" in outcome.action
    assert DeploymentRun.objects.count() == 1


def test_an_update_waiting_for_approval_names_the_one_image_to_approve(engine_seam, fake_registry):
    digest = "sha256:" + "7" * 64
    fake_registry.route("GET", "/v2/team/app/tags/list", tag_list("1.0.0", "1.1.0"))
    fake_registry.route(
        "HEAD", "/v2/team/app/manifests/1.1.0", FakeResponse(200, headers={"Docker-Content-Digest": digest})
    )
    engine_seam.run("shop", "web", f"{fake_registry.host}/team/app:1.0.0")
    run_cycle(dry_run=True)
    Service.objects.filter(name="web").update(update_mode="notify")
    cycle, _ = run_cycle()
    web = Service.objects.get(name="web")
    assert (web.available_tag, web.available_digest, cycle.deploys_queued) == ("1.1.0", digest, 0)
    assert cycle.registry_requests == 2  # the tag list, and one HEAD for what a person will approve


@pytest.mark.django_db(transaction=True)
def test_an_update_is_announced_before_its_deploy_is_claimed(engine_seam, fake_registry):
    from deployments.selectors import board_row

    fake_registry.route("GET", "/v2/team/app/tags/list", tag_list("1.0.0"))
    engine_seam.run("shop", "web", f"{fake_registry.host}/team/app:1.0.0")
    run_cycle()
    fake_registry.route("GET", "/v2/team/app/tags/list", tag_list("1.0.0", "1.1.0"))  # 1.1.0 is pushed
    seen = []

    def state_when_published(event):  # what a board rendering the row at that moment shows
        seen.append(board_row(event.service_id).label)

    subscribe(state_when_published, [EventKind.SERVICE_CHANGED])
    try:
        cycle, _ = run_cycle()
    finally:
        unsubscribe(state_when_published)
    assert cycle.deploys_queued == 1
    assert seen == ["Update available", "Deploying…"]


def test_the_status_page_loads_only_each_services_last_run_without_its_log(owner):
    service = ServiceFactory()
    for generation in range(1, 21):
        DeploymentRunFactory(service=service, generation=generation, state=State.FAILED, log="x" * 10_000)
    loaded = []

    def count(sender, instance, **kwargs):
        loaded.append(instance)

    post_init.connect(count, sender=DeploymentRun)
    try:
        [status] = service_status_list()
    finally:
        post_init.disconnect(count, sender=DeploymentRun)
    assert len(loaded) == 1
    assert {"log", "file_backup"} <= status.last_run.get_deferred_fields()


def test_container_state_and_health_come_from_the_list_answer():
    from deployments.docker import _summary_info

    def summary(state: str, status: str) -> dict:
        return {"Id": "c1", "Names": ["/shop-web-1"], "Image": "app:1", "ImageID": "sha256:1", "State": state,
                "Status": status, "Labels": {"com.docker.compose.project": "shop"}}  # fmt: skip

    assert _summary_info(summary("running", "Up 2 minutes (healthy)")).health == "healthy"
    assert _summary_info(summary("running", "Up 1 second (health: starting)")).health == "starting"
    assert _summary_info(summary("running", "Up 3 hours (unhealthy)")).health == "unhealthy"
    exited = _summary_info(summary("exited", "Exited (3) 5 seconds ago"))
    assert (exited.status, exited.health, exited.exit_code, exited.project) == ("exited", "", 3, "shop")

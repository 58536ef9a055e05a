"""The check cycle: what it asks registries, how often, and how it survives bad answers."""

from __future__ import annotations

import pytest

from deployments.checks import check_services, run_cycle
from deployments.models import CheckCycle, DeploymentRun, Service
from tests.factories import ServiceFactory
from tests.support.docker_env import ImageSpec, build_and_push
from tests.support.fake_registry import FakeResponse


def fake_service(fake, **kwargs) -> Service:
    return ServiceFactory(repository=f"{fake.host}/team/app", current_tag="1.0.0", **kwargs)


@pytest.fixture
def quick_registry_client(settings):
    settings.REGISTRY_TIMEOUT = 0.5
    settings.REGISTRY_RETRIES = 1


@pytest.mark.django_db
@pytest.mark.usefixtures("quick_registry_client")
class TestRegistryFailures:
    @pytest.mark.parametrize(
        ("response", "message"),
        [
            (
                FakeResponse(401, {"errors": [{"code": "UNAUTHORIZED"}]}, {"WWW-Authenticate": 'Basic realm="x"'}),
                "authentication failed",
            ),
            (
                FakeResponse(404, {"errors": [{"code": "NAME_UNKNOWN", "message": "repository name not known"}]}),
                "not found",
            ),
            (FakeResponse(429, headers={"Retry-After": "0"}), "rate"),
            (FakeResponse(500, "boom"), "500"),
            (FakeResponse(200, "{not json"), "JSON"),
        ],
    )
    def test_a_registry_error_is_recorded_on_the_service_not_raised(self, fake_registry, response, message):
        fake_registry.route("GET", "/v2/team/app/tags/list", response)
        service = fake_service(fake_registry)
        [outcome], _ = check_services([service])
        assert message.lower() in outcome.error.lower()
        assert not outcome.has_update

    def test_a_registry_that_times_out_is_unavailable(self, fake_registry):
        fake_registry.route("GET", "/v2/team/app/tags/list", FakeResponse(200, {"tags": ["1.1.0"]}, delay=2))
        [outcome], _ = check_services([fake_service(fake_registry)])
        assert "timed out" in outcome.error.lower() or "unavailable" in outcome.error.lower()

    def test_one_failing_repository_does_not_stop_the_others(self, fake_registry):
        fake_registry.route("GET", "/v2/team/app/tags/list", FakeResponse(500))
        fake_registry.route("GET", "/v2/team/other/tags/list", FakeResponse(200, {"tags": ["1.0.0", "1.2.0"]}))
        broken = fake_service(fake_registry)
        healthy = ServiceFactory(repository=f"{fake_registry.host}/team/other", current_tag="1.0.0")
        outcomes = {o.service.pk: o for o in check_services([broken, healthy])[0]}
        assert outcomes[broken.pk].error
        # A 500 on one repository is not a dead host: the other repository is still asked and answered.
        assert (outcomes[healthy.pk].available_tag, outcomes[healthy.pk].error) == ("1.2.0", "")

    def test_an_invalid_policy_label_is_an_error_on_that_service_only(self, fake_registry):
        fake_registry.route("GET", "/v2/team/app/tags/list", FakeResponse(200, {"tags": ["1.0.0"]}))
        bad = fake_service(fake_registry, labels={"updater.include": "(unclosed"})
        good = fake_service(fake_registry)
        outcomes = {o.service.pk: o for o in check_services([bad, good])[0]}
        assert "updater.include" in outcomes[bad.pk].error
        assert outcomes[good.pk].error == ""

    def test_services_on_one_repository_share_one_tag_list(self, fake_registry):
        fake_registry.route("GET", "/v2/team/app/tags/list", FakeResponse(200, {"tags": ["1.0.0", "1.1.0", "2.0"]}))
        services = [fake_service(fake_registry) for _ in range(5)]
        outcomes, _ = check_services(services)
        assert len(fake_registry.requests_to("/v2/team/app/tags/list")) == 1
        # The chosen version tag's digest is resolved by the deploy's pull, not by the check.
        assert not [r for r in fake_registry.requests if "/manifests/" in r.path]
        assert {(o.available_tag, o.available_digest) for o in outcomes} == {("1.1.0", "")}


DIGEST = "sha256:" + "d" * 64


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_cycle_request_count_for_services_sharing_repositories(registry, compose_project, test_images, only_projects):
    """5 services on 3 repositories: one tag list per versioned repository, one HEAD per repo:tag."""
    host = registry.host
    build_and_push(f"{host}/count/app:1.0.0", ImageSpec("1.0.0"))
    build_and_push(f"{host}/count/base:latest", ImageSpec("base"))
    build_and_push(f"{host}/count/tool:2.0.0", ImageSpec("2.0.0"))
    registry.push_image("count/app", "1.1.0")  # an update for the three app services
    services = "\n".join(
        f"  {name}:\n    image: {image}\n    labels: {{dockerimageupdater.test: '1'}}\n    stop_grace_period: 1s"
        for name, image in [
            ("app1", f"{host}/count/app:1.0.0"),
            ("app2", f"{host}/count/app:1.0.0"),
            ("app3", f"{host}/count/app:1.0.0"),
            ("base", f"{host}/count/base:latest"),
            ("tool", f"{host}/count/tool:2.0.0"),
        ]
    )
    compose_project.write(f"services:\n{services}\n")
    compose_project.up()
    only_projects(compose_project.name)

    run_cycle(dry_run=True)  # the first contact may probe https once per registry host
    cycle, outcomes = run_cycle(dry_run=True)
    mine = [o for o in outcomes if o.service.project.name == compose_project.name]
    print(f"\nMEASURED one cycle, 5 services on 3 repositories: {cycle.registry_requests} registry requests")
    # app: 1 tag list (1.1.0's digest is resolved by the pull); base: 1 HEAD of latest; tool: 1 tag list.
    assert cycle.registry_requests == 3
    assert (cycle.services_checked, cycle.repositories_checked) == (5, 3)
    by_name = {o.service.name: o for o in mine}
    assert {by_name[n].available_tag for n in ("app1", "app2", "app3")} == {"1.1.0"}
    assert all(by_name[n].action == "would deploy 1.1.0" for n in ("app1", "app2", "app3"))
    assert not by_name["base"].has_update and not by_name["tool"].has_update
    assert not DeploymentRun.objects.exists()  # a dry run deploys nothing
    assert CheckCycle.objects.get(pk=cycle.pk).state == CheckCycle.State.SUCCEEDED


@pytest.mark.django_db
def test_git_sha_tags_are_ranked_by_push_time_fetched_once_per_digest(registry):
    from datetime import UTC, datetime

    repository = "pushtime/app"
    registry.push_image(repository, "sha-1111111", created=datetime(2024, 1, 1, tzinfo=UTC))
    registry.push_image(repository, "sha-3333333", created=datetime(2024, 3, 1, tzinfo=UTC), files={"v": b"3"})
    registry.push_image(repository, "sha-2222222", created=datetime(2024, 2, 1, tzinfo=UTC), files={"v": b"2"})
    service = ServiceFactory(repository=f"{registry.host}/{repository}", current_tag="sha-1111111")

    check_services([service])  # first contact: https probe, and the created times are fetched
    [outcome], requests = check_services([service])

    assert outcome.available_tag == "sha-3333333", outcome.explanation
    # Warm: 1 tag list + 1 HEAD for each of the 3 tags whose time is needed (the created times come
    # from the digest cache; the chosen tag's digest is the HEAD already made).
    assert requests == 4
    assert outcome.available_digest.startswith("sha256:")

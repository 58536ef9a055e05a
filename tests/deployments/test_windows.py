"""Maintenance windows and minimum image age in the check cycle, with a controlled clock (time-machine).

An update found outside its window creates no run and shows "Waiting for window"; when the window opens
the periodic task checks again and the deploy is claimed; manual deploys and rollbacks ignore windows.
A minimum age holds a tag back until it is old enough, counting from when it was first listed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deployments import services, tasks
from deployments.checks import run_cycle
from deployments.models import CheckCycle, DeploymentRun, Service
from deployments.selectors import board_row, service_status
from registries.models import SeenTag
from tests.factories import RevisionFactory
from tests.support.fake_registry import FakeResponse

pytestmark = pytest.mark.django_db
NIGHTLY = "0 2 * * * 2h UTC"
EVENING = datetime(2026, 1, 9, 23, 30, tzinfo=UTC)


def tag_list(*tags: str) -> FakeResponse:
    return FakeResponse(200, {"tags": list(tags)})


def running(engine_seam, fake_registry, name: str = "web", **labels: str) -> None:
    engine_seam.run("shop", name, f"{fake_registry.host}/team/app:1.0.0")
    engine_seam.containers[-1].labels.update(labels)


@pytest.fixture
def offered(engine_seam, fake_registry):
    fake_registry.route("GET", "/v2/team/app/tags/list", tag_list("1.0.0", "1.1.0"))
    running(engine_seam, fake_registry, **{"updater.window": NIGHTLY})
    return fake_registry


def test_an_update_found_outside_the_window_waits_and_is_deployed_when_it_opens(offered):
    with time_machine.travel(EVENING, tick=False):
        _, [outcome] = run_cycle()
        assert outcome.action == "update available, not deployed: waiting for the maintenance window (opens 02:00)"
        assert not DeploymentRun.objects.exists()
        web = Service.objects.get(name="web")
        row = board_row(web.pk)
        assert (row.label, row.detail) == ("Waiting for window", "1.1.0 (opens 02:00)")
        assert row.style.key == "window"
    with time_machine.travel(datetime(2026, 1, 10, 1, 59, tzinfo=UTC), tick=False):
        tasks.open_windows()  # still closed: no cycle at all
        assert CheckCycle.objects.count() == 1
    with time_machine.travel(datetime(2026, 1, 10, 2, 0, 30, tzinfo=UTC), tick=False):
        tasks.open_windows()
        run = DeploymentRun.objects.get()
        assert (run.to_tag, run.trigger, run.state) == ("1.1.0", "auto", "pending")
        assert CheckCycle.objects.count() == 2
        tasks.open_windows()  # the service was checked since the window opened: nothing more
        assert CheckCycle.objects.count() == 2


def test_inside_the_window_an_update_deploys_at_once(offered):
    with time_machine.travel(datetime(2026, 1, 10, 3, 15, tzinfo=UTC), tick=False):
        _, [outcome] = run_cycle()
    assert outcome.action.startswith("queued run")


def test_a_manual_deploy_and_a_rollback_ignore_the_window(offered, operator):
    with time_machine.travel(EVENING, tick=False):
        run_cycle()
        web = Service.objects.get(name="web")
        run = services.service_deploy(service=web, tag="1.1.0", user=operator)
        assert run.state == "pending"
        DeploymentRun.objects.filter(pk=run.pk).update(state="cancelled")
        Service.objects.filter(pk=web.pk).update(active_run=None)
        revision = RevisionFactory(service=web, tag="0.9.0")
        assert services.service_rollback(service=web, revision=revision, user=operator).trigger == "rollback"


def test_the_project_window_applies_unless_the_service_has_its_own(engine_seam, fake_registry, settings):
    fake_registry.route("GET", "/v2/team/app/tags/list", tag_list("1.0.0", "1.1.0"))
    running(engine_seam, fake_registry, "web")
    running(engine_seam, fake_registry, "api", **{"updater.window": "always"})
    settings.MAINTENANCE_WINDOW = "0 4 * * 6 3h UTC"  # global: Saturdays 04:00
    with time_machine.travel(EVENING, tick=False):  # a Friday
        outcomes = {o.service.name: o.action for o in run_cycle(dry_run=True)[1]}
        assert outcomes == {"web": "", "api": "would deploy 1.1.0"}
        web = Service.objects.get(name="web")
        assert service_status(web, None).detail == "1.1.0 (opens 04:00)"
        web.project.maintenance_window = "0 1 * * * 1h Europe/Paris"
        web.project.save()
        web = Service.objects.select_related("project").get(name="web")
        assert service_status(web, None).detail == "1.1.0 (opens 01:00)"  # Paris time


def test_a_tag_without_push_time_is_held_back_until_it_was_seen_long_enough(engine_seam, fake_registry):
    fake_registry.route("GET", "/v2/team/app/tags/list", tag_list("1.0.0", "1.1.0"))
    running(engine_seam, fake_registry, **{"updater.min_age": "24h"})
    start = datetime(2026, 1, 10, 12, tzinfo=UTC)
    with time_machine.travel(start, tick=False):
        _, [outcome] = run_cycle(dry_run=True)
        assert outcome.explanation["rejected"]["1.1.0"] == "first seen 0m ago, minimum age 24h"
        assert not outcome.has_update
        assert SeenTag.objects.get(tag="1.1.0").first_seen_at == start
    fake_registry.route("GET", "/v2/team/app/tags/list", tag_list("1.0.0", "1.1.0", "1.2.0"))
    with time_machine.travel(start + timedelta(hours=20), tick=False):
        _, [outcome] = run_cycle(dry_run=True)
        assert outcome.explanation["rejected"]["1.1.0"] == "first seen 20h ago, minimum age 24h"
    with time_machine.travel(start + timedelta(hours=25), tick=False):
        _, [outcome] = run_cycle(dry_run=True)
        assert outcome.action == "would deploy 1.1.0"  # 1.2.0 was first seen 5 hours ago
        assert outcome.explanation["rejected"]["1.2.0"] == "first seen 5h ago, minimum age 24h"
    assert SeenTag.objects.count() == 3


def test_the_minimum_age_costs_no_query_per_service(engine_seam, fake_registry):
    def fleet(first: int, count: int) -> None:
        for index in range(first, first + count):
            repository = f"fleet/app{index % 5}"
            fake_registry.route("GET", f"/v2/{repository}/tags/list", tag_list("1.0.0", "1.1.0", f"2.{index}.0"))
            engine_seam.run(f"project{index // 10}", f"svc{index}", f"{fake_registry.host}/{repository}:1.0.0")
            engine_seam.containers[-1].labels.update({"updater.min_age": "1h", "updater.window": NIGHTLY})

    def warm_cycle_queries() -> int:
        run_cycle(dry_run=True)  # new services and new tags are written once
        with CaptureQueriesContext(connection) as queries:
            run_cycle(dry_run=True)
        return len(queries)

    fleet(0, 10)
    few = warm_cycle_queries()
    fleet(10, 40)
    assert 0 < few == warm_cycle_queries()


def test_an_admin_sets_a_services_window_and_minimum_age_and_a_projects_window(client, admin_user_role):
    from tests.deployments.test_admin_policy import form_data
    from tests.factories import ServiceFactory

    service = ServiceFactory(labels={"updater.window": "0 3 * * * 1h"})
    client.force_login(admin_user_role)
    url = f"/admin/deployments/service/{service.pk}/change/"
    assert "is not a maintenance window" in client.post(url, form_data(window="at night")).content.decode()
    assert "is not a duration" in client.post(url, form_data(min_age="a day")).content.decode()
    assert client.post(url, form_data(window="0 1 * * 6 4h Europe/Paris", min_age="7d")).status_code == 302
    service.refresh_from_db()
    assert service.policy_overrides == {"window": "0 1 * * 6 4h Europe/Paris", "min_age": "7d"}
    project_url = f"/admin/deployments/composeproject/{service.project_id}/change/"
    assert b"not a valid cron" in client.post(project_url, {"maintenance_window": "99 2 * * * 1h"}).content
    assert client.post(project_url, {"maintenance_window": "0 2 * * * 2h UTC"}).status_code == 302
    service.project.refresh_from_db()
    assert service.project.maintenance_window == "0 2 * * * 2h UTC"


@pytest.fixture
def admin_user_role(db):
    from dashboard.roles import ADMIN, assign_role
    from tests.factories import UserFactory

    user = UserFactory(username="windows-admin")
    assign_role(user, ADMIN)  # the role, not a superuser: it must carry the permission to edit projects
    return user

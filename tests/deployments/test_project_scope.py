"""Which Compose projects an updater manages: UPDATER_PROJECTS and UPDATER_IGNORED_PROJECTS, names or patterns."""

from __future__ import annotations

import pytest

from deployments.discovery import discover_services, project_managed
from deployments.models import Service

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("projects", "ignored", "managed"),
    [
        ([], [], {"shop", "shop-staging", "edge", "updater"}),
        (["shop*"], [], {"shop", "shop-staging"}),
        (["shop", "edge"], [], {"shop", "edge"}),
        ([], ["updater", "*-staging"], {"shop", "edge"}),
        (["shop*"], ["*-staging"], {"shop"}),  # ignoring wins
    ],
)
def test_projects_and_ignored_projects_take_names_and_patterns(settings, projects, ignored, managed):
    settings.PROJECTS, settings.IGNORED_PROJECTS = projects, ignored
    assert {name for name in ("shop", "shop-staging", "edge", "updater") if project_managed(name)} == managed


def test_discovery_leaves_projects_outside_its_scope_alone(engine_seam, settings):
    for project in ("shop", "shop-staging", "edge"):
        engine_seam.run(project, "web", f"registry.example.com/{project}/web:1.0.0")
    settings.PROJECTS, settings.IGNORED_PROJECTS = ["shop*"], ["*-staging"]
    discover_services()
    assert set(Service.objects.values_list("project__name", flat=True)) == {"shop"}

"""Service (revision) page, run page and activity log."""

from datetime import timedelta

import pytest
from django.utils import timezone

from deployments.events import Event, EventKind
from deployments.models import Activity, DeploymentRun, RunStep
from tests.factories import DeploymentRunFactory, RevisionFactory, ServiceFactory

pytestmark = pytest.mark.django_db


def test_service_page_shows_five_revisions_then_pages_the_rest(client, viewer):
    service = ServiceFactory(current_tag="1.12.0")
    for minor in range(13):
        RevisionFactory(service=service, tag=f"1.{minor}.0")
    client.force_login(viewer)
    first = client.get(f"/services/{service.pk}/").content.decode()
    assert first.count('<td data-label="Tag">') == 5
    assert "1.12.0" in first and "1.8.0" in first and "1.7.0" not in first
    assert "13 in total" in first
    second = client.get(
        f"/services/{service.pk}/", {"page": 2}, headers={"HX-Request": "true", "HX-Target": "revisions"}
    ).content.decode()
    assert second.lstrip().startswith('<section id="revisions"')
    assert "1.7.0" in second and "1.0.0" in second and "1.8.0" not in second


def test_service_page_shows_policy_sources_and_why_this_tag(client, viewer):
    service = ServiceFactory(
        labels={"updater.strategy": "semver", "updater.max-bump": "minor"},
        policy_overrides={"allow_prerelease": True},
        update_mode="notify",
        check_explanation={
            "reason": "1.1.0 is the highest semver tag within a minor bump",
            "chosen": "1.1.0",
            "ranked": ["1.1.0", "1.0.5"],
            "rejected": {"2.0.0": "a major bump; max-bump is minor"},
            "scheme": "semver",
            "strategy": "semver",
        },
    )
    client.force_login(viewer)
    html = client.get(f"/services/{service.pk}/").content.decode()
    assert "updater.strategy" in html and "updater.max-bump" in html
    assert "admin: update mode" in html and "admin: pre-releases" in html
    assert "1.1.0 is the highest semver tag within a minor bump" in html
    assert "a major bump; max-bump is minor" in html


def test_run_page_shows_steps_with_timings_error_and_restore(client, viewer):
    run = DeploymentRunFactory(
        from_tag="1.0.0",
        to_tag="1.1.0",
        state=DeploymentRun.State.FAILED,
        error="verification failed: exited with code 3",
        failed_state="verifying",
        restored=True,
        log="[10:00:00] pulled\n[10:00:03] container exited",
    )
    start = timezone.now()
    for offset, state in enumerate(["editing", "pulling", "replacing", "verifying", "restoring", "failed"]):
        RunStep.objects.create(run=run, state=state, at=start + timedelta(seconds=2 * offset))
    client.force_login(viewer)
    html = client.get(f"/runs/{run.pk}/").content.decode()
    assert "Pulling image" in html and "2.0 s" in html
    assert "verification failed: exited with code 3" in html
    assert "was restored and is running again" in html
    assert "container exited" in html


def test_steps_are_recorded_from_run_events(db):
    from deployments import audit

    run = DeploymentRunFactory()
    audit.record_step(Event(EventKind.RUN_CHANGED, service_id=run.service_id, run_id=run.pk, data={"state": "pulling"}))
    audit.record_step(Event(EventKind.RUN_CHANGED, service_id=run.service_id, run_id=run.pk, data={"state": "pulling"}))
    assert list(RunStep.objects.values_list("state", flat=True)) == ["pulling"]


def test_automatic_outcomes_and_check_failures_enter_the_activity_log(client, viewer):
    from deployments import audit

    run = DeploymentRunFactory(trigger="auto", from_tag="1.0.0", to_tag="1.1.0")
    audit.record_outcome(
        Event(
            EventKind.DEPLOY_FAILED,
            service_id=run.service_id,
            run_id=run.pk,
            data={"from_tag": "1.0.0", "to_tag": "1.1.0", "error": "pull failed\nmore", "restored": True},
        )
    )
    service = run.service
    service.last_check_error = "registry unreachable"
    service.save()
    changed = Event(EventKind.SERVICE_CHANGED, service_id=service.pk)
    audit.record_check_result(changed)
    audit.record_check_result(changed)  # the same error on the next cycle is not news
    service.last_check_error = ""
    service.save()
    audit.record_check_result(changed)
    entries = list(Activity.objects.order_by("id").values_list("actor_name", "action", "outcome"))
    assert entries == [
        ("updater", "deploy_failed", "failed"),
        ("updater", "check_failed", "failed"),
        ("updater", "check_recovered", "ok"),
    ]
    assert "pull failed; previous version restored" in Activity.objects.get(action="deploy_failed").detail
    client.force_login(viewer)
    html = client.get("/activity/", {"outcome": "failed"}).content.decode()
    assert "<code>deploy_failed</code>" in html and "<code>check_failed</code>" in html
    assert "<code>check_recovered</code>" not in html
    assert str(service) in client.get("/activity/", {"q": service.name}).content.decode()

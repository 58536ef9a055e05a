"""The pre-deploy scan gate end to end: real deploys with Compose, real Trivy on the planted database.

Running 1.1.0 has no planted finding; 1.2.0 adds a new critical (CVE-2099-1004, no fix yet);
1.0.0 and 1.0.1 carry the same three findings (one critical).
"""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from deployments import selectors
from deployments.discovery import discover_services
from deployments.events import EventKind, subscribe, unsubscribe
from deployments.models import DeploymentRun, Service
from scanning.models import GateDecision, ScanAllowance
from tests.support.trivy_env import write_stand_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
State = DeploymentRun.State

COMPOSE = """\
services:
  web:
    image: {repository}:{tag}
    # manual: an updater of another test session on this engine must never auto-update it
    labels: {{dockerimageupdater.test: "1", updater.mode: manual}}
    stop_grace_period: 1s
"""


@pytest.fixture
def gate_on(scanning_on):
    scanning_on.STABILITY_WINDOW, scanning_on.HEALTH_TIMEOUT = 1.0, 15
    scanning_on.SCAN_GATE = "differential"
    return scanning_on


@pytest.fixture
def start(gate_on, scan_images, compose_project):
    """Run web on `tag` and discover it; returns (service, key, repository)."""
    repository = scan_images["1.0.0"].reference.rsplit(":", 1)[0]

    def run_on(tag: str) -> Service:
        compose_project.write(COMPOSE.format(repository=repository, tag=tag))
        compose_project.up()
        discover_services()
        return Service.objects.get(project__name=compose_project.name, name="web")

    return run_on


@pytest.fixture
def blocked_events():
    seen = []
    subscribe(seen.append, [EventKind.BLOCKED_BY_SCAN])
    yield seen
    unsubscribe(seen.append)


def key(service: Service) -> str:
    return f"{service.project.name}/{service.name}"


def running_image(project) -> str:
    [container] = [c for c in project.containers("web") if c.status == "running"]
    return container.attrs["Image"]


@pytest.mark.parametrize("policy", ["differential", "absolute"])
def test_a_new_critical_is_not_deployed_and_the_previous_version_keeps_running(
    gate_on, start, scan_images, compose_project, blocked_events, policy
):
    gate_on.SCAN_GATE = policy
    service = start("1.1.0")
    Service.objects.filter(pk=service.pk).update(available_tag="1.2.0", last_checked_at=timezone.now())
    compose_before = compose_project.compose_file.read_text()

    with pytest.raises(CommandError, match=r"blocked by scan: .*CVE-2099-1004 CRITICAL in zlib 1\.3-r0, no fix yet"):
        call_command("deploy", key(service), "1.2.0")

    run = service.runs.get()
    assert (run.state, run.failed_state, run.restored) == (State.FAILED, State.SCANNING, True)
    assert running_image(compose_project) == scan_images["1.1.0"].image_id
    assert compose_project.compose_file.read_text() == compose_before
    decision = GateDecision.objects.get(run=run)
    assert (decision.policy, decision.allowed, decision.findings_total) == (policy, False, 1)
    assert [(f["id"], f["severity"], f["fixed"]) for f in decision.findings] == [("CVE-2099-1004", "CRITICAL", "")]
    assert decision.report.image_id == scan_images["1.2.0"].image_id
    status = selectors.service_status(Service.objects.get(pk=service.pk), run)
    assert status.label == "Blocked" and "CVE-2099-1004" in status.detail
    assert [e.run_id for e in blocked_events] == [run.pk]
    service.refresh_from_db()
    assert (service.current_tag, service.active_run_id) == ("1.1.0", None)


def test_same_findings_pass_the_differential_gate_and_are_refused_by_the_absolute_one(
    gate_on, start, scan_images, compose_project
):
    service = start("1.0.0")  # already runs CVE-2099-1001 (critical)

    gate_on.SCAN_GATE = "absolute"
    with pytest.raises(CommandError, match=r"blocked by scan: 1 findings at or above CRITICAL \(more than 0 allowed\)"):
        call_command("deploy", key(service), "1.0.1")
    assert running_image(compose_project) == scan_images["1.0.0"].image_id

    gate_on.SCAN_GATE = "differential"
    call_command("deploy", key(service), "1.0.1")
    assert running_image(compose_project) == scan_images["1.0.1"].image_id
    run = service.runs.order_by("-id").first()
    assert run.state == State.SUCCEEDED
    assert "scan gate: passed (differential, CRITICAL): 1 findings at or above CRITICAL, none new" in run.log
    decision = GateDecision.objects.get(run=run)
    assert decision.allowed and decision.baseline.image_id == scan_images["1.0.0"].image_id


def test_an_allowed_digest_passes_once(gate_on, start, scan_images, compose_project):
    service = start("1.1.0")
    with pytest.raises(CommandError, match="blocked by scan"):
        call_command("deploy", key(service), "1.2.0")
    blocked = service.runs.get()
    assert blocked.to_digest.startswith("sha256:")

    call_command("scan_allow", key(service), blocked.to_digest, stdout=open("/dev/null", "w"))  # noqa: SIM115

    assert running_image(compose_project) == scan_images["1.2.0"].image_id
    allowed_run = service.runs.order_by("-id").first()
    assert allowed_run.state == State.SUCCEEDED and allowed_run.trigger == DeploymentRun.Trigger.MANUAL
    assert "scan gate: allowed once by an operator despite: 1 new findings" in allowed_run.log
    allowance = ScanAllowance.objects.get(service=service)
    assert (allowance.used_by_run_id, allowance.used_at is not None) == (allowed_run.pk, True)

    call_command("rollback", key(service), "1.1.0")  # rollbacks are never gated
    rollback = service.runs.order_by("-id").first()
    assert rollback.state == State.SUCCEEDED and not GateDecision.objects.filter(run=rollback).exists()

    with pytest.raises(CommandError, match="blocked by scan"):
        call_command("deploy", key(service), "1.2.0")
    assert running_image(compose_project) == scan_images["1.1.0"].image_id


def test_allowing_an_unknown_digest_is_one_clear_error(gate_on, start):
    service = start("1.1.0")
    with pytest.raises(CommandError, match="expected a digest or image ID"):
        call_command("scan_allow", key(service), "latest")


def test_a_gate_that_cannot_scan_blocks_by_default_or_lets_through_when_told(
    gate_on, start, scan_images, compose_project, tmp_path
):
    service = start("1.1.0")
    gate_on.TRIVY_PATH = str(write_stand_in(tmp_path, "nonzero"))

    with pytest.raises(CommandError, match=r"blocked by scan: the candidate could not be scanned: .*planted failure"):
        call_command("deploy", key(service), "1.2.0")
    assert running_image(compose_project) == scan_images["1.1.0"].image_id

    gate_on.SCAN_GATE_ON_ERROR = "allow"
    call_command("deploy", key(service), "1.2.0")
    assert running_image(compose_project) == scan_images["1.2.0"].image_id
    assert "let through (UPDATER_SCAN_GATE_ON_ERROR=allow)" in service.runs.order_by("-id").first().log

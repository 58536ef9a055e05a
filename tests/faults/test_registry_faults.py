"""Scenarios 1-4, 9, 20: the registry loses the tag, dies mid-pull, refuses the password, the stored
credential cannot be decrypted, the rollback target is gone, the registry serves hostile tag names."""

from __future__ import annotations

import random

import pytest
import requests
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command

from deployments import engine
from deployments.checks import check_services, run_cycle
from deployments.engine.backoff import backoff_message
from deployments.models import DeploymentRun
from registries.models import Registry
from tests.factories import ServiceFactory
from tests.support.chaos import Background
from tests.support.chaos_proxy import chaos_proxy
from tests.support.docker_env import ImageSpec, docker_client
from tests.support.fake_registry import FakeResponse
from tests.support.invariants import FAILED, PAUSED, Baseline, assert_nothing_lost, image_of_tag

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
State = DeploymentRun.State
GOOD = {"1.0.0": ImageSpec("1.0.0"), "1.1.0": ImageSpec("1.1.0")}


def only_run(stack) -> DeploymentRun:
    [run] = DeploymentRun.objects.filter(service=stack.service)
    return run


def test_01_tag_deleted_between_detection_and_pull(make_stack, registry):
    stack = make_stack(GOOD)
    container = stack.project.containers("web")[0].id
    cycle, _ = run_cycle(service_key=stack.key)
    assert cycle.deploys_queued == 1
    run = only_run(stack)
    digest = requests.head(
        f"{registry.url}/v2/{stack.repository}/manifests/1.1.0",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
        timeout=10,
    ).headers["Docker-Content-Digest"]
    registry.delete_manifest(stack.repository, digest)  # gone before the worker pulls it

    engine.execute(run.pk)

    run.refresh_from_db()
    assert (run.state, run.failed_state, run.restored) == (State.FAILED, State.PULLING, True)
    assert stack.project.containers("web")[0].id == container  # never stopped
    assert assert_nothing_lost(stack.baseline, attempts=1) == FAILED
    cycle, _ = run_cycle(service_key=stack.key)  # the tag is gone: nothing to retry, no loop
    assert cycle.deploys_queued == 0 and DeploymentRun.objects.filter(service=stack.service).count() == 1


def test_02_pull_cut_halfway_then_backs_off_leaving_the_file_alone(make_stack, registry):
    with chaos_proxy(registry) as proxy:
        stack = make_stack({"1.0.0": ImageSpec("1.0.0")}, host=proxy.host, push_host=registry.host)
        # 1.1.0 has a 4 MB layer that is not on this host: the pull must stream it through the proxy.
        registry.push_image(stack.repository, "1.1.0", files={"big.bin": random.Random(2).randbytes(4 << 20)})
        run_cycle(service_key=stack.key)
        run = only_run(stack)
        proxy.cut_blobs_after(512 * 1024, then="blob_gone")  # the connection drops mid-layer

        engine.execute(run.pk)

        assert proxy.cut_done.is_set(), "the pull never reached the layer"
        run.refresh_from_db()
        assert (run.state, run.failed_state, run.restored) == (State.FAILED, State.PULLING, True)
        assert image_of_tag(stack.reference("1.1.0")) is None  # nothing half-pulled is referenced
        assert assert_nothing_lost(stack.baseline, attempts=1) == FAILED
        modified = stack.project.compose_file.stat().st_mtime_ns

        cycle, outcomes = run_cycle(service_key=stack.key)  # the next check backs off

    assert cycle.deploys_queued == 0
    assert DeploymentRun.objects.filter(service=stack.service).count() == 1
    assert stack.project.compose_file.stat().st_mtime_ns == modified  # not rewritten while backing off
    service = stack.refresh()
    assert backoff_message(service).startswith("retrying 1.1.0 in 5 min (after 1 failed attempt): pulling image failed")
    assert "retrying 1.1.0" in outcomes[0].action


def test_03_04_a_refused_password_then_an_undecryptable_one_fail_closed(make_stack, auth_registry, settings):
    credentials = {"username": auth_registry.username, "password": auth_registry.password}
    stack = make_stack(GOOD, push_host=auth_registry.host, credentials=credentials)
    wrong = "Wrong-Password-Canary-5e1f"
    registry_row = Registry(host=auth_registry.host, username=auth_registry.username)
    registry_row.set_secret(wrong)
    registry_row.save()

    # 3. The registry refuses the stored password: the pull fails, nothing else changes.
    with pytest.raises(CommandError, match="previous version restored"):
        call_command("deploy", stack.key, "1.1.0")
    refused = only_run(stack)
    assert refused.failed_state == State.PULLING
    assert "unauthorized" in refused.log.lower() or "authentication required" in refused.log.lower()
    secrets = [wrong, auth_registry.password, registry_row.secret_encrypted]
    assert assert_nothing_lost(stack.baseline, attempts=1, secrets=secrets) == FAILED

    # 4. The right password, stored under a key that is gone (rotated without keeping the old one).
    registry_row.set_secret(auth_registry.password)
    registry_row.save()
    settings.ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(CommandError, match="cannot be decrypted"):
        call_command("deploy", stack.key, "1.1.0")
    undecryptable = DeploymentRun.objects.filter(service=stack.service).first()
    assert undecryptable.failed_state == State.PULLING
    secrets = [auth_registry.password, registry_row.secret_encrypted]
    assert assert_nothing_lost(stack.baseline, attempts=2, secrets=secrets) == FAILED


def test_09_rollback_target_missing_fails_and_keeps_the_current_version(make_stack, registry):
    stack = make_stack({"1.0.0": ImageSpec("1.0.0-t09a"), "1.1.0": ImageSpec("1.1.0")})  # 1.0.0 gets deleted
    call_command("deploy", stack.key, "1.1.0")
    current = Baseline.take(stack.project)
    docker_client().images.remove(stack.images["1.0.0"], force=True)  # pruned on the host…
    digest = stack.refresh().revisions.get(tag="1.0.0").digest
    registry.delete_manifest(stack.repository, digest)  # …and deleted in the registry

    with pytest.raises(CommandError, match="previous version restored"):
        call_command("rollback", stack.key, "1.0.0")

    rollback = DeploymentRun.objects.filter(service=stack.service).first()
    assert (rollback.trigger, rollback.failed_state) == (DeploymentRun.Trigger.ROLLBACK, State.PULLING)
    assert stack.refresh().current_tag == "1.1.0"
    assert assert_nothing_lost(current, attempts=2) == FAILED


def test_09_restore_impossible_pauses_automation_and_says_why(make_stack, registry, pause_points):
    stack = make_stack({"1.0.0": ImageSpec("1.0.0-t09b"), "1.2.0": ImageSpec("1.2.0", "broken")})
    points = pause_points("restoring")
    run = engine.deployment_request(service=stack.service, tag="1.2.0", trigger=DeploymentRun.Trigger.AUTO)
    worker = Background(lambda: engine.execute(run.pk))
    worker.start()
    points.wait("restoring")  # 1.2.0 replaced 1.0.0 and failed; the old container is gone
    docker_client().images.remove(stack.images["1.0.0"], force=True)
    registry.delete_manifest(stack.repository, stack.service.current_digest)
    points.resume("restoring", run.pk)
    worker.join_result()

    run.refresh_from_db()
    assert (run.state, run.failed_state, run.restored) == (State.FAILED, State.VERIFYING, False)
    assert "previous version" in stack.refresh().automation_paused
    assert assert_nothing_lost(stack.baseline, attempts=1, target_files=stack.target("1.2.0")) == PAUSED
    assert stack.project.compose_file.read_bytes() == stack.compose_text("1.0.0")  # the file is back
    assert run_cycle(service_key=stack.key)[0].deploys_queued == 0  # paused: no automatic deploy


HOSTILE = ["$(reboot)", ";rm -rf", "../etc", "a\nb", "x" * 129, "1.2.0\u2024", "latest", "0.9.0", "1.1.0"]


def test_20_hostile_tag_names_from_the_registry_are_never_used(fake_registry):
    fake_registry.route("GET", "/v2/team/app/tags/list", FakeResponse(200, {"name": "team/app", "tags": HOSTILE}))
    fake_registry.route(
        "HEAD",
        "/v2/team/app/manifests/1.1.0",
        FakeResponse(200, headers={"Docker-Content-Digest": "sha256:" + "1" * 64}),
    )
    service = ServiceFactory(repository=f"{fake_registry.host}/team/app", current_tag="1.0.0")
    [outcome], _ = check_services([service])
    assert outcome.error == ""
    assert outcome.available_tag == "1.1.0"  # the only valid newer version; the rest explained, never used
    assert {"$(reboot)", "../etc", "latest", "0.9.0"} <= set(outcome.explanation["rejected"])
    for tag in HOSTILE[:6]:  # and from the UI or the command line, before any use
        with pytest.raises(CommandError):
            call_command("deploy", f"{service.project.name}/{service.name}", tag)
    assert not DeploymentRun.objects.exists()

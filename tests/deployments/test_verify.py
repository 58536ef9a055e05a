"""Table-driven verdicts from `docker inspect` facts, and the polling loop's stability window."""

import pytest

from deployments.docker import ContainerInfo
from deployments.engine.verify import FAIL, OK, WAIT, assess, wait_until_verified

NEW, OLD = "sha256:" + "1" * 64, "sha256:" + "0" * 64


def container(cid="c1", image=NEW, status="running", health="", restarts=0, exit_code=0):
    return ContainerInfo(
        id=cid,
        name=f"web-{cid}",
        image_id=image,
        image_ref="app:1.1.0",
        status=status,
        health=health,
        restart_count=restarts,
        exit_code=exit_code,
        started_at="",
    )


@pytest.mark.parametrize(
    ("containers", "expected", "reason_part"),
    [
        ([], WAIT, "no container"),
        ([container()], OK, "running"),
        ([container(health="healthy")], OK, "healthy"),
        ([container(health="starting")], WAIT, "starting"),
        ([container(health="unhealthy")], FAIL, "unhealthy"),
        ([container(status="exited", exit_code=3)], FAIL, "exited with code 3"),
        ([container(status="dead")], FAIL, "exited"),
        ([container(status="restarting", exit_code=1)], FAIL, "restarting"),
        ([container(status="created")], WAIT, "created"),
        ([container(image=OLD)], FAIL, "expected"),
        ([container(cid="old")], WAIT, "not been replaced"),
        ([container("a"), container("b", status="exited", exit_code=1)], FAIL, "web-b exited"),
        ([container("a"), container("b", health="starting")], WAIT, "web-b"),
    ],
)
def test_assess_classifies_container_states(containers, expected, reason_part):
    status, reason = assess(containers, NEW, replaced_ids={"old"})
    assert status == expected
    assert reason_part in reason


def test_no_expected_image_accepts_any_image():
    assert assess([container(image=OLD)], "", replaced_ids=())[0] == OK


def sequence(*snapshots):
    """A fake container lister returning each snapshot once, then the last forever."""
    remaining = list(snapshots)

    def lister(_project, _service):
        return remaining.pop(0) if len(remaining) > 1 else remaining[0]

    return lister


def test_wait_passes_after_the_stability_window():
    verdict = wait_until_verified(
        "p",
        "web",
        expected_image_id=NEW,
        timeout=5,
        stability_window=0.3,
        poll_interval=0.05,
        list_containers=sequence([container(status="created")], [container()]),
    )
    assert verdict.ok


def test_wait_fails_when_the_container_restarts_inside_the_window():
    verdict = wait_until_verified(
        "p",
        "web",
        expected_image_id=NEW,
        timeout=5,
        stability_window=1,
        poll_interval=0.05,
        list_containers=sequence([container(restarts=0)], [container(restarts=0)], [container(restarts=1)]),
    )
    assert not verdict.ok
    assert "restarted" in verdict.reason


def test_wait_fails_at_once_when_the_container_exits():
    verdict = wait_until_verified(
        "p",
        "web",
        expected_image_id=NEW,
        timeout=30,
        stability_window=10,
        poll_interval=0.05,
        list_containers=sequence([container()], [container(status="exited", exit_code=1)]),
    )
    assert not verdict.ok
    assert "exited with code 1" in verdict.reason


def test_wait_times_out_while_the_healthcheck_is_starting():
    verdict = wait_until_verified(
        "p",
        "web",
        expected_image_id=NEW,
        timeout=0.3,
        stability_window=0,
        poll_interval=0.05,
        list_containers=sequence([container(health="starting")]),
    )
    assert not verdict.ok
    assert "not verified within" in verdict.reason


def test_wait_calls_the_heartbeat_while_polling():
    ticks = []
    wait_until_verified(
        "p",
        "web",
        expected_image_id=NEW,
        timeout=5,
        stability_window=0.2,
        poll_interval=0.05,
        on_tick=lambda: ticks.append(1),
        list_containers=sequence([container()]),
    )
    assert ticks

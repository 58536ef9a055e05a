"""Confirm running: the service's containers run the expected image and stay up.

"Up" means every container of the service: is not one it replaced, runs the expected image ID, is
`running` (not restarting, not exited), is `healthy` where it has a healthcheck, and holds that state
with an unchanged restart count for the stability window. Anything that cannot recover (exited,
restarting, unhealthy, wrong image) fails at once instead of waiting out the deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from deployments.docker import ContainerInfo, list_compose_containers

OK, WAIT, FAIL = "ok", "wait", "fail"


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str


def assess_container(
    container: ContainerInfo, expected_image_id: str, replaced_ids: Collection[str]
) -> tuple[str, str]:
    """One container's state right now: (OK | WAIT | FAIL, reason). Pure, so it is table-tested."""
    name = container.name or container.id[:12]
    if container.id in replaced_ids:
        return WAIT, f"{name} has not been replaced yet"
    if expected_image_id and container.image_id != expected_image_id:
        return FAIL, f"{name} runs image {container.image_id[:19]}, expected {expected_image_id[:19]}"
    if container.status in {"exited", "dead"}:
        return FAIL, f"{name} exited with code {container.exit_code}"
    if container.status == "restarting":
        return FAIL, f"{name} is restarting (last exit code {container.exit_code})"
    if container.status != "running":
        return WAIT, f"{name} is {container.status or 'not started'}"
    if container.health == "unhealthy":
        return FAIL, f"{name} is unhealthy"
    if container.health == "starting":
        return WAIT, f"{name} healthcheck is starting"
    return OK, f"{name} is running" + (" and healthy" if container.health == "healthy" else "")


def assess(
    containers: Sequence[ContainerInfo], expected_image_id: str, replaced_ids: Collection[str]
) -> tuple[str, str]:
    """The service's state: FAIL if any container failed, WAIT if any is not ready, else OK."""
    if not containers:
        return WAIT, "no container for the service yet"
    results = [assess_container(c, expected_image_id, replaced_ids) for c in containers]
    for wanted in (FAIL, WAIT):
        reasons = [reason for status, reason in results if status == wanted]
        if reasons:
            return wanted, "; ".join(reasons)
    return OK, "; ".join(reason for _, reason in results)


def wait_until_verified(
    project: str,
    service: str,
    *,
    expected_image_id: str,
    replaced_ids: Collection[str] = (),
    timeout: float,
    stability_window: float,
    on_tick: Callable[[], None] = lambda: None,
    poll_interval: float = 0.5,
    list_containers: Callable[[str, str], list[ContainerInfo]] = list_compose_containers,
) -> Verdict:
    """Poll until the service is OK for `stability_window` seconds, a container fails, or `timeout`."""
    deadline = time.monotonic() + timeout + stability_window
    stable_since: float | None = None
    baseline: dict[str, int] = {}
    reason = "not checked"
    while True:
        containers = list_containers(project, service)
        status, reason = assess(containers, expected_image_id, replaced_ids)
        now = time.monotonic()
        if status == FAIL:
            return Verdict(False, reason)
        if status == OK:
            restarts = {c.id: c.restart_count for c in containers}
            if stable_since is None or set(restarts) != set(baseline):
                stable_since, baseline = now, restarts
            elif restarts != baseline:
                return Verdict(False, f"container restarted during the stability window ({reason})")
            if now - stable_since >= stability_window:
                return Verdict(True, reason)
        else:
            stable_since, baseline = None, {}
        if now >= deadline:
            return Verdict(False, f"not verified within {timeout:.0f}s: {reason}")
        on_tick()
        time.sleep(poll_interval)

"""A fleet for real: this machine's Docker engine ("alpha") and a private dockerd ("beta"), one agent each
(`manage.py agent --host …`, with its own PostgreSQL role and DOCKER_HOST), a central worker without an
engine and beat, on a Redis that wants a password.

A push updates the same-named project on both hosts, each through its own agent; with beta's agent
SIGKILLed at `replacing`, alpha still updates, beta shows "Host offline" and its checks are skipped, and
nobody else touches beta's run; restarted, beta's agent undoes its own run and then catches up.
"""

from __future__ import annotations

import time
import uuid
from contextlib import ExitStack
from pathlib import Path

import docker
import pytest

from deployments.models import CheckCycle, DeploymentRun, DockerHost, Service
from registries.models import Registry
from tests.support.docker_env import ComposeProjectDir, ImageSpec, build_and_push, compose_v2_path, unique_project_name
from tests.support.dockerd import private_dockerd
from tests.support.fleet import agent_role, database_users, password_redis, running_agent
from tests.support.processes import celery_processes, log_text, wait_for
from tests.support.registry import RunningRegistry, start_registry

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
State = DeploymentRun.State
COMPOSE = """\
services:
  web:
    image: {image}
    labels: {{dockerimageupdater.test: "1", updater.mode: manual}}
    stop_grace_period: 2s
"""
FLEET = {  # short intervals: the whole story in about two minutes
    "CHECK_INTERVAL": "5",
    "UPDATER_HOST_HEARTBEAT": "1",
    "UPDATER_HOST_MISSED_HEARTBEATS": "3",
    "UPDATER_RECONCILE_INTERVAL": "5",
    "UPDATER_DEPLOY_STALE_AFTER": "10",
    "UPDATER_STABILITY_WINDOW": "1",
}


def web(host: str, project: str) -> Service | None:
    return Service.objects.filter(project__host__name=host, project__name=project, name="web").first()


def synced(host: str, project: str, tag: str, timeout: float = 60) -> Service:
    def on_tag():
        service = web(host, project)
        return service if service and service.current_tag == tag and not service.active_run_id else None

    return wait_for(on_tag, timeout=timeout, message=f"{host}/{project}/web on {tag}")


def running_image(client: docker.DockerClient, project: str) -> str:
    containers = client.containers.list(filters={"label": [f"com.docker.compose.project={project}"]})
    assert len(containers) == 1, [c.name for c in containers]
    return containers[0].attrs["Image"]


def paused_run(pauses: Path, step: str) -> int:
    marker = wait_for(lambda: next(pauses.glob(f"{step}-*.paused"), None), timeout=60, message=f"a run at {step}")
    run_id = int(marker.name.split("-")[1].split(".")[0])
    marker.unlink()
    return run_id


@pytest.mark.timeout(480)
def test_each_host_updates_through_its_own_agent_and_a_killed_agent_undoes_its_own_run(
    test_images, tmp_path, client, owner, settings
):
    settings.HOST_HEARTBEAT_INTERVAL = int(FLEET["UPDATER_HOST_HEARTBEAT"])  # the board reads as the fleet does
    settings.HOST_MISSED_HEARTBEATS = int(FLEET["UPDATER_HOST_MISSED_HEARTBEATS"])
    started = time.monotonic()
    with start_registry(tmp_path / "registry", auth="htpasswd", access_log=True) as auth_registry:
        fleet_story(auth_registry, tmp_path, client, owner)
    print(f"\nMEASURED two-host fleet story: {time.monotonic() - started:.0f}s")


def tag_listings(registry: RunningRegistry, repository: str) -> int:
    """Tag lists the registry served for `repository` (its access log; 401 challenges not counted)."""
    log = (registry.data_dir.parent / "registry.log").read_text()
    return sum(1 for line in log.splitlines() if f"/v2/{repository}/tags/list" in line and '" 200 ' in line)


def fleet_story(auth_registry: RunningRegistry, tmp_path: Path, client, owner) -> None:
    name = unique_project_name()  # the same project name on both hosts: two projects
    path = f"e2e/{name}"
    repository = f"{auth_registry.host}/{path}"
    credentials = {"username": auth_registry.username, "password": auth_registry.password}
    registry = Registry(host=auth_registry.host, username=auth_registry.username)
    registry.set_secret(auth_registry.password)
    registry.save()
    images = {"1.0.0": build_and_push(f"{repository}:1.0.0", ImageSpec("1.0.0"), **credentials)}
    compose_v2 = compose_v2_path()
    pauses = tmp_path / "pauses"
    pauses.mkdir()

    with ExitStack() as stack:
        beta_host = stack.enter_context(private_dockerd(Path(f"/tmp/diutf{uuid.uuid4().hex[:6]}")))
        beta = docker.DockerClient(base_url=beta_host, version="auto", timeout=120)
        stack.callback(beta.close)
        alpha = docker.from_env(version="auto", timeout=120)
        stack.callback(alpha.close)
        beta.images.pull(repository, "1.0.0", auth_config=credentials)
        projects = {}
        for host, env in (("alpha", {}), ("beta", {"DOCKER_HOST": beta_host})):
            project = ComposeProjectDir(name=name, directory=tmp_path / host, env=env, cli=[compose_v2])
            project.directory.mkdir()
            project.write(COMPOSE.format(image=f"{repository}:1.0.0"))
            stack.callback(project.down)
            project.up()
            projects[host] = project
        redis_url = stack.enter_context(password_redis(tmp_path / "redis")).url
        common = {**FLEET, "REDIS_URL": redis_url, "UPDATER_COMPOSE_COMMAND": compose_v2}
        central = stack.enter_context(
            celery_processes(tmp_path / "central", UPDATER_LOCAL_DOCKER="false", **common)  # no engine of its own
        )
        roles = {host: stack.enter_context(agent_role(host)) for host in ("alpha", "beta")}
        stack.enter_context(
            running_agent(
                "alpha",
                tmp_path / "agents",
                database_url=roles["alpha"],
                UPDATER_PROJECTS=name,  # the engine is shared: manage only this test's project
                **common,
            )
        )
        beta_env = {**common, "DOCKER_HOST": beta_host, "UPDATER_FAULT_DIR": str(pauses)}
        beta_agent = stack.enter_context(
            running_agent(
                "beta", tmp_path / "agents", database_url=roles["beta"], UPDATER_FAULT_PAUSE="replacing", **beta_env
            )
        )

        # Both hosts register with their engine's facts; each agent discovers its own project.
        wait_for(lambda: web("alpha", name) and web("beta", name), timeout=60, message="discovery on both hosts")
        Service.objects.filter(project__name=name).update(update_mode="auto")  # ours: deploy automatically
        hosts = {host.name: host for host in DockerHost.objects.filter(name__in=["alpha", "beta"])}
        assert (hosts["alpha"].docker_host, hosts["beta"].docker_host) == ("unix:///var/run/docker.sock", beta_host)
        assert hosts["alpha"].engine_version and hosts["beta"].compose_version
        users = database_users()
        assert all(role.split("/")[2].split(":")[0] in users for role in roles.values())  # own credentials

        # 1. A push: each host's agent deploys it on its own engine.
        images["1.1.0"] = build_and_push(f"{repository}:1.1.0", ImageSpec("1.1.0"), keep_local=False, **credentials)
        (pauses / f"replacing-{paused_run(pauses, 'replacing')}.resume").touch()  # beta's first deploy goes on
        for host in ("alpha", "beta"):
            service = synced(host, name, "1.1.0")
            assert f"on host {host}" in service.revisions.first().run.log
        assert running_image(alpha, name) == running_image(beta, name) == images["1.1.0"]
        both = CheckCycle.objects.filter(deploys_queued=2).get()
        assert (both.services_checked, both.repositories_checked) == (2, 1)
        cycles = CheckCycle.objects.exclude(state="succeeded", repositories_checked=0).count()  # incl. running
        assert 0 < tag_listings(auth_registry, path) <= cycles, "one tag list per repository per cycle, all hosts"
        assert "Task deployments.tasks.deploy[" not in log_text(tmp_path / "central", "worker")  # no engine there

        # 2. Beta's agent dies at `replacing`; alpha updates all the same.
        images["1.2.0"] = build_and_push(f"{repository}:1.2.0", ImageSpec("1.2.0"), keep_local=False, **credentials)
        interrupted = paused_run(pauses, "replacing")
        synced("alpha", name, "1.2.0")
        beta_agent.kill()
        killed_at = time.monotonic()
        wait_for(lambda: DockerHost.objects.get(name="beta").reported_offline, timeout=20, message="beta offline")
        client.force_login(owner)
        board = client.get("/").content.decode()
        header = {host: board.split(f'id="host-{host}"', 1)[1].split("</header>", 1)[0] for host in ("alpha", "beta")}
        assert "Host offline" in header["beta"] and "Host offline" not in header["alpha"]
        row = board.split(f'id="svc-{web("beta", name).pk}"', 1)[1].split("</tr>", 1)[0]
        assert 'data-state="offline"' in row
        skipped = wait_for(
            lambda: CheckCycle.objects.filter(hosts_offline=["beta"], state="succeeded").first(),
            timeout=20,
            message="a check that skips beta",
        )
        assert skipped.services_skipped == 1 and skipped.errors == []

        # 3. While beta is down, another push reaches alpha; beta's run stays as its agent left it.
        images["1.3.0"] = build_and_push(f"{repository}:1.3.0", ImageSpec("1.3.0"), keep_local=False, **credentials)
        synced("alpha", name, "1.3.0")
        wait_for(lambda: time.monotonic() - killed_at > 15, timeout=30, message="beta's run to go stale")
        assert DeploymentRun.objects.get(pk=interrupted).state == State.REPLACING  # nobody else's to undo

        # 4. Beta's agent is back: it undoes its own interrupted run, then catches up with 1.3.0.
        stack.enter_context(running_agent("beta", tmp_path / "agents-again", database_url=roles["beta"], **beta_env))
        failed = wait_for(
            lambda: DeploymentRun.objects.filter(pk=interrupted, state=State.FAILED).first(),
            timeout=60,
            message="beta's agent to undo its own run",
        )
        assert "worker lost while recreating container" in failed.error and failed.restored
        synced("beta", name, "1.3.0", timeout=90)
        assert running_image(beta, name) == running_image(alpha, name) == images["1.3.0"]
        for project in projects.values():
            assert project.compose_file.read_text() == COMPOSE.format(image=f"{repository}:1.3.0")
        assert not DockerHost.objects.get(name="beta").is_offline
        assert central["worker"].poll() is None

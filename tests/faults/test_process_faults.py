"""Scenarios 10-12, 15-17 with real Celery processes: a worker SIGKILLed at a step or in the middle of
`compose up`, a message delivered twice, Redis restarted with its queue lost, Postgres stopped before
the final write, two beat processes."""

from __future__ import annotations

import itertools
import os
import shlex
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from celery import Celery
from django.db import connection

from deployments import engine
from deployments.dispatch import DEPLOY_TASK
from deployments.models import CheckCycle, DeploymentRun
from tests.support.chaos import processes_mentioning
from tests.support.docker_env import ComposeProjectDir, ImageSpec, docker_client, unique_project_name
from tests.support.invariants import FAILED, VERIFIED, assert_nothing_lost
from tests.support.processes import celery_processes, log_text, wait_for
from tests.support.registry import free_port
from tests.support.stacks import publish

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]
State = DeploymentRun.State
GOOD = {"1.0.0": ImageSpec("1.0.0"), "1.1.0": ImageSpec("1.1.0")}
STALE = 10  # the minimum the product accepts; also how long a dead worker's Redis lease lasts


@pytest.fixture
def stale_soon(settings):
    settings.DEPLOY_STALE_AFTER = STALE


def worker_env(stack, **extra: str) -> dict[str, str]:
    """A worker that touches only this test's stack, with short windows."""
    return {
        "UPDATER_PROJECTS": stack.project.name,
        "UPDATER_DEPLOY_STALE_AFTER": str(STALE),
        "UPDATER_STABILITY_WINDOW": "1",
        "UPDATER_HEALTH_TIMEOUT": "15",
        "CHECK_INTERVAL": "3600",
        **extra,
    }


def send(run_id: int, broker: str | None = None) -> None:
    from updater_project.celery import app

    if broker is None:
        app.send_task(DEPLOY_TASK, args=[run_id])
        return
    with Celery(broker=broker, set_as_current=False) as other:  # the suite's app stays the current one
        other.send_task(DEPLOY_TASK, args=[run_id])


def recover(run_id: int) -> DeploymentRun:
    """What the reconciler does once the run is stale and the dead worker's lease expired."""
    wait_for(lambda: run_id in engine.reconcile().recovered, timeout=4 * STALE, interval=1, message="recovery")
    return DeploymentRun.objects.get(pk=run_id)


def creates_since(project: str, since: float) -> int:
    events = docker_client().events(
        since=int(since),
        until=int(time.time()) + 1,
        decode=True,
        filters={"type": "container", "event": "create", "label": f"com.docker.compose.project={project}"},
    )
    # `since` is whole seconds: the stack's own first `up` may fall in the same second.
    return sum(1 for event in events if event["timeNano"] / 1e9 >= since)


def test_10_worker_killed_after_the_file_write_before_up(make_stack, pause_points, tmp_path, stale_soon):
    stack = make_stack(GOOD)
    points = pause_points("replacing")
    with celery_processes(tmp_path / "worker", beat=False, **worker_env(stack), **points.env("replacing")) as procs:
        run = engine.deployment_request(service=stack.service, tag="1.1.0", trigger=DeploymentRun.Trigger.AUTO)
        send(run.pk)
        points.wait("replacing")
        assert stack.project.compose_file.read_bytes() == stack.compose_text("1.1.0")  # written, not applied
        os.killpg(procs["worker"].pid, signal.SIGKILL)
        procs["worker"].wait()

    run = recover(run.pk)
    assert (run.state, run.failed_state, run.restored) == (State.FAILED, State.REPLACING, True)
    assert "worker lost while recreating container" in run.error
    assert assert_nothing_lost(stack.baseline, attempts=1) == FAILED


def compose_up_running(project: str) -> list[int]:
    pids = []
    for pid in processes_mentioning(project):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"up" in argv:
            pids.append(pid)
    return pids


def test_11_worker_killed_mid_up_takes_compose_with_it_and_is_undone(make_stack, tmp_path, stale_soon):
    # The old container ignores SIGTERM: `up` spends its 20 s grace period stopping it.
    stack = make_stack({"1.0.0": ImageSpec("1.0.0", "stubborn"), "1.1.0": ImageSpec("1.1.0")}, grace="20s")
    with celery_processes(tmp_path / "worker", beat=False, **worker_env(stack)) as procs:
        run = engine.deployment_request(service=stack.service, tag="1.1.0", trigger=DeploymentRun.Trigger.AUTO)
        send(run.pk)
        wait_for(lambda: compose_up_running(stack.project.name), timeout=60, message="`compose up` to start")
        time.sleep(1)  # well inside the recreate
        os.killpg(procs["worker"].pid, signal.SIGKILL)
        procs["worker"].wait()
        wait_for(lambda: not compose_up_running(stack.project.name), timeout=5, message="the orphaned Compose to die")

    run = recover(run.pk)
    assert (run.state, run.failed_state, run.restored) == (State.FAILED, State.REPLACING, True)
    assert assert_nothing_lost(stack.baseline, attempts=1) == FAILED


def test_12_a_message_delivered_twice_deploys_once(make_stack, tmp_path):
    stack = make_stack(GOOD)
    started = time.time()
    data_dir = tmp_path / "worker"
    with celery_processes(data_dir, beat=False, concurrency=2, **worker_env(stack)):
        run = engine.deployment_request(service=stack.service, tag="1.1.0", trigger=DeploymentRun.Trigger.AUTO)
        send(run.pk)
        send(run.pk)  # the broker hands the same deploy out twice
        wait_for(
            lambda: log_text(data_dir, "worker").count("succeeded in") >= 2,
            timeout=90,
            message="both deliveries to finish",
        )
    assert DeploymentRun.objects.get(pk=run.pk).state == State.SUCCEEDED
    assert creates_since(stack.project.name, started) == 1  # one recreate
    assert assert_nothing_lost(stack.baseline, attempts=1, target_files=stack.target("1.1.0")) == VERIFIED


@contextmanager
def private_redis(tmp_path: Path) -> Iterator[tuple[str, Callable[[], None], Callable[[], None]]]:
    """A Redis the test can restart (empty again, as after a crash without persistence)."""
    port = free_port()
    tmp_path.mkdir(parents=True, exist_ok=True)
    pidfile = tmp_path / "redis.pid"
    argv = [
        "redis-server",
        "--bind",
        "127.0.0.1",
        "--port",
        str(port),
        "--save",
        "",
        "--appendonly",
        "no",
        "--daemonize",
        "yes",
        "--pidfile",
        str(pidfile),
        "--dir",
        str(tmp_path),
    ]
    url = f"redis://127.0.0.1:{port}/0"

    def start() -> None:
        subprocess.run(argv, check=True)
        wait_for(lambda: _pings(url), timeout=10, message="redis to start")

    def stop() -> None:
        redis.Redis.from_url(url).shutdown(nosave=True)
        wait_for(lambda: not _pings(url), timeout=10, message="redis to stop")

    start()
    try:
        yield url, stop, start
    finally:
        if _pings(url):
            stop()


def _pings(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
    except redis.RedisError:
        return False


def test_15_redis_restarted_mid_deploy_loses_the_queue_and_nothing_else(make_stack, pause_points, tmp_path, stale_soon):
    started = time.time()
    first = make_stack(GOOD)
    other = ComposeProjectDir(name=unique_project_name(), directory=tmp_path / "other")
    other.directory.mkdir()
    points = pause_points("replacing")
    try:
        second = make_stack(GOOD, project=other)
        with private_redis(tmp_path / "redis") as (url, stop_redis, start_redis):
            env = {**worker_env(first), **points.env("replacing"), "REDIS_URL": url, "UPDATER_RECONCILE_INTERVAL": "5"}
            env["UPDATER_PROJECTS"] = f"{first.project.name},{other.name}"
            with celery_processes(tmp_path / "worker", beat=True, **env):
                deploying = engine.deployment_request(service=first.service, tag="1.1.0", trigger="auto")
                send(deploying.pk, broker=url)
                points.wait("replacing")
                stop_redis()
                # Queued while Redis is down: the message never reaches a queue (lost like a flushed one).
                lost = engine.deployment_request(service=second.service, tag="1.1.0", trigger="auto")
                start_redis()  # empty
                points.resume("replacing", deploying.pk)
                points.resume("replacing", lost.pk)  # when the reconciler re-queues it, let it through
                for run in (deploying, lost):
                    wait_for(
                        lambda run=run: DeploymentRun.objects.get(pk=run.pk).state == State.SUCCEEDED,
                        timeout=90,
                        message=f"run {run.pk} to succeed",
                    )
        assert DeploymentRun.objects.get(pk=lost.pk).requeue_count >= 1  # started by the reconciler
        for stack in (first, second):
            assert creates_since(stack.project.name, started) == 2  # `up` at setup + one recreate
            assert assert_nothing_lost(stack.baseline, attempts=1, target_files=stack.target("1.1.0")) == VERIFIED
    finally:
        other.down()


@contextmanager
def postgres_stopped() -> Iterator[None]:
    """Stop this session's PostgreSQL for real (pg_ctl stop -m fast), start it again on exit."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW data_directory")
        data_dir = cursor.fetchone()[0]
    options = shlex.split(Path(data_dir, "postmaster.opts").read_text())[1:]
    if "-D" in options:
        index = options.index("-D")
        del options[index : index + 2]
    pg_ctl = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))[-1]
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    connection.close()
    subprocess.run([*as_postgres, str(pg_ctl), "-D", data_dir, "-m", "fast", "-w", "stop"], check=True)
    try:
        yield
    finally:
        log = Path(data_dir, "restart.log")
        start = [*as_postgres, str(pg_ctl), "-D", data_dir, "-w", "-l", str(log), "-o", shlex.join(options), "start"]
        subprocess.run(start, check=True, stdout=subprocess.DEVNULL)
        connection.close()


@pytest.mark.serial  # every other test's database connections would die with the server
def test_16_postgres_stopped_before_the_final_write(make_stack, pause_points, tmp_path):
    stack = make_stack(GOOD)
    points = pause_points("verified")
    env = {**worker_env(stack), **points.env("verified"), "UPDATER_DEPLOY_DB_RETRY_SECONDS": "120"}
    with celery_processes(tmp_path / "worker", beat=False, **env):
        run = engine.deployment_request(service=stack.service, tag="1.1.0", trigger=DeploymentRun.Trigger.AUTO)
        send(run.pk)
        points.wait("verified")
        with postgres_stopped():
            points.resume("verified", run.pk)
            time.sleep(3)  # the worker's final write meets a stopped server and keeps retrying
        wait_for(lambda: DeploymentRun.objects.get(pk=run.pk).state == State.SUCCEEDED, timeout=60, message="the retry")
    assert "database error" in log_text(tmp_path / "worker", "worker")  # it did meet the outage
    assert assert_nothing_lost(stack.baseline, attempts=1, target_files=stack.target("1.1.0")) == VERIFIED


def test_17_two_beat_processes_deploy_once(make_stack, registry, tmp_path):
    stack = make_stack({"1.0.0": ImageSpec("1.0.0")})
    env = {**worker_env(stack), "CHECK_INTERVAL": "5"}
    with celery_processes(tmp_path / "worker", beats=2, **env):
        publish(registry.host, stack.repository, "1.1.0", ImageSpec("1.1.0"))
        wait_for(lambda: stack.refresh().current_tag == "1.1.0" and not stack.service.active_run_id, timeout=60)
        checks = CheckCycle.objects.count()
        wait_for(lambda: CheckCycle.objects.count() >= checks + 2, timeout=30, message="more checks")
    runs = DeploymentRun.objects.filter(service=stack.service)
    assert runs.count() == 1, list(runs.values_list("to_tag", "state"))
    cycles = list(CheckCycle.objects.order_by("started_at"))
    for earlier, later in itertools.pairwise(cycles):
        assert earlier.finished_at is None or earlier.finished_at <= later.started_at, "two checks overlapped"
    assert assert_nothing_lost(stack.baseline, attempts=1, target_files=stack.target("1.1.0")) == VERIFIED

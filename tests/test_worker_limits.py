"""Time limits and the memory ceiling of a real worker on the threads pool (updater_project/worker_limits.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.celery_tasks import loop_until_stopped, noop
from tests.support.processes import ROOT, wait_for
from updater_project.worker_limits import HARD_LIMIT_EXIT_CODE

pytestmark = pytest.mark.e2e


@contextmanager
def threads_worker(tmp_path: Path, **env: str) -> Iterator[tuple[subprocess.Popen, str, Path]]:
    queue = f"limits-{uuid.uuid4().hex[:8]}"  # only this test's messages
    log = tmp_path / "worker.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "updater_project", "worker", "--pool", "threads", "--concurrency",
         "2", "-Q", queue, "-I", "tests.support.celery_tasks", "-n", f"{queue}@%h", "--without-gossip",
         "--without-mingle", "--without-heartbeat", "-l", "info"],
        cwd=ROOT,
        env={**os.environ, "UPDATER_DATA_DIR": str(tmp_path), **env},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    try:
        wait_for(lambda: "ready." in log.read_text() or process.poll() is not None, timeout=90, message="worker")
        assert "thread pool time limits enforced" in log.read_text(), log.read_text()[-3000:]
        yield process, queue, log
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def test_the_soft_time_limit_interrupts_a_task_running_in_a_thread(tmp_path):
    marker = tmp_path / "soft"
    with threads_worker(tmp_path) as (process, queue, log):
        loop_until_stopped.apply_async((str(marker),), queue=queue, soft_time_limit=1, time_limit=30)
        wait_for(marker.exists, timeout=30, message="the soft time limit")
        wait_for(lambda: "succeeded" in log.read_text(), timeout=10, message="the task to end")
        assert process.poll() is None  # the worker carries on
    assert "passed its soft time limit" in log.read_text()


def test_the_hard_time_limit_stops_the_worker_so_that_it_is_restarted(tmp_path):
    marker = tmp_path / "soft"
    with threads_worker(tmp_path) as (process, queue, log):
        loop_until_stopped.apply_async((str(marker),), {"swallow": True}, queue=queue, soft_time_limit=1, time_limit=3)
        assert process.wait(timeout=60) == HARD_LIMIT_EXIT_CODE
    assert marker.exists()
    assert "passed its hard time limit: stopping the worker" in log.read_text()


def test_a_worker_over_its_memory_ceiling_stops_after_its_task(tmp_path):
    marker = tmp_path / "done"
    with threads_worker(tmp_path, UPDATER_WORKER_MAX_MEMORY="64") as (process, queue, log):
        noop.apply_async((str(marker),), queue=queue)
        assert process.wait(timeout=60) == 0  # a warm shutdown: the launcher starts a new worker
    assert marker.exists()
    assert "more than UPDATER_WORKER_MAX_MEMORY (64 MB)" in log.read_text()

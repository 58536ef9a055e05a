"""The launcher's supervisor with real child processes: restart with backoff, graceful and forced stops."""

from __future__ import annotations

import logging
import os
import sys
import time
from pathlib import Path

import pytest

from dashboard.launcher import supervisor as supervisor_module
from dashboard.launcher.supervisor import Program, Supervisor
from tests.support.processes import wait_for

# A child that finishes its "task" for `grace` seconds after SIGTERM, like Celery's warm shutdown.
GRACEFUL = """
import pathlib, signal, sys, time
grace = float(sys.argv[2])
def stop(*_):
    time.sleep(grace)
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
pathlib.Path(sys.argv[1]).touch()
while True:
    time.sleep(0.05)
"""
# Ignores SIGTERM; says when it is ready.
STUBBORN = """
import pathlib, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
pathlib.Path(sys.argv[1]).touch()
while True:
    time.sleep(0.05)
"""


def program(name: str, code: str, *args: str) -> Program:
    return Program(name, [sys.executable, "-c", code, *args], dict(os.environ), Path.cwd())


@pytest.fixture
def supervisor():
    running = Supervisor()
    yield running
    running.stopping = True
    running.hurry = True
    running.stop(list(running.children), timeout=0)


def tick_until(supervisor: Supervisor, condition, timeout: float = 10):
    def step():
        supervisor.reap()
        supervisor.restart_due()
        return condition()

    return wait_for(step, timeout=timeout, interval=0.05)


def test_a_child_that_dies_is_restarted_with_backoff_and_the_event_is_logged(supervisor, caplog, monkeypatch, tmp_path):
    monkeypatch.setattr(supervisor_module, "BACKOFF_FIRST", 0.2)
    caplog.set_level(logging.INFO, logger="launcher")
    child = supervisor.start(program("sleeper", STUBBORN, str(tmp_path / "ready")))
    first = child.pid
    os.kill(first, 9)
    tick_until(supervisor, lambda: child.pid not in (None, first))
    assert child.restarts == 1
    assert f"sleeper (pid {first}) was killed by signal 9" in caplog.text
    assert "restarting in 0.2 s" in caplog.text

    # A second crash soon after waits twice as long.
    second = child.pid
    os.kill(second, 9)
    tick_until(supervisor, lambda: child.restart_at is not None)
    assert child.restart_at - time.monotonic() == pytest.approx(0.4, abs=0.15)
    tick_until(supervisor, lambda: child.pid not in (None, second))
    assert child.restarts == 2


def test_a_child_exiting_with_an_error_code_is_restarted_too(supervisor, caplog, monkeypatch):
    monkeypatch.setattr(supervisor_module, "BACKOFF_FIRST", 0.1)
    child = supervisor.start(program("crasher", "import time, sys; time.sleep(0.2); sys.exit(3)"))
    tick_until(supervisor, lambda: child.restarts >= 1)
    assert "crasher" in caplog.text and "exited with code 3" in caplog.text


def test_stop_waits_for_a_child_that_finishes_its_work(supervisor, tmp_path):
    child = supervisor.start(program("worker", GRACEFUL, str(tmp_path / "ready"), "1.0"))
    wait_for((tmp_path / "ready").exists, timeout=20)
    supervisor.stopping = True
    started = time.monotonic()
    supervisor.stop(["worker"], timeout=10)
    assert 0.9 < time.monotonic() - started < 5
    assert child.process.returncode == 0  # it exited by itself, nothing killed it


def test_stop_kills_a_child_that_does_not_stop_in_time(supervisor, caplog, tmp_path):
    child = supervisor.start(program("stubborn", STUBBORN, str(tmp_path / "ready")))
    wait_for((tmp_path / "ready").exists, timeout=20)
    supervisor.stopping = True
    supervisor.stop(["stubborn"], timeout=0.5)
    assert child.process.returncode == -9
    assert "stubborn did not stop in time: killing it" in caplog.text


def test_a_stopping_supervisor_does_not_restart_anything(supervisor, tmp_path):
    child = supervisor.start(program("sleeper", STUBBORN, str(tmp_path / "ready")))
    supervisor.stopping = True
    os.kill(child.pid, 9)
    tick_until(supervisor, lambda: child.pid is None)
    time.sleep(0.2)
    supervisor.restart_due()
    assert child.pid is None and child.restarts == 0

"""Real Celery worker and beat processes for e2e tests, sharing the test database with the test."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import redis
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def test_database_url() -> str:
    """The URL of the database pytest-django created, for child processes."""
    config = connection.settings_dict
    if config["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{config['NAME']}"
    password = f":{config['PASSWORD']}" if config.get("PASSWORD") else ""
    return f"postgres://{config['USER']}{password}@{config['HOST']}:{config['PORT']}/{config['NAME']}"


def product_env(data_dir: Path, **overrides: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "UPDATER_DATA_DIR": str(data_dir),
        "CHECK_INTERVAL": "5",
        "UPDATER_STABILITY_WINDOW": "2",
        "UPDATER_HEALTH_TIMEOUT": "20",
        "UPDATER_RECONCILE_INTERVAL": "5",
        "UPDATER_DEPLOY_STALE_AFTER": "15",
    }
    env.update(overrides)
    return env


@contextmanager
def celery_processes(
    data_dir: Path, *, beat: bool = True, beats: int = 1, concurrency: int = 2, **overrides: str
) -> Iterator[dict]:
    """Start a worker (and `beats` beat processes, if `beat`) as the product does; stop them and report
    their logs on exit. `beats=2` runs the duplicate beat the docs warn about (fault scenario 17)."""
    redis.Redis.from_url(overrides.get("REDIS_URL", settings.REDIS_URL)).flushdb()  # no leftover messages
    env = product_env(data_dir, **overrides)
    data_dir.mkdir(parents=True, exist_ok=True)
    # The product's pool (dashboard/launcher): deploys run in threads of one worker process.
    worker = [
        "worker",
        "-l",
        "info",
        "--pool",
        "threads",
        "--concurrency",
        str(concurrency),
        "-n",
        f"e2e-{os.getpid()}@%h",
    ]
    commands = {"worker": worker}
    for number in range(beats if beat else 0):
        name = "beat" if number == 0 else f"beat{number + 1}"
        commands[name] = ["beat", "-l", "info", "-s", str(data_dir / f"{name}-schedule")]
    logs = {name: open(data_dir / f"{name}.log", "w+b") for name in commands}  # noqa: SIM115
    processes = {
        name: subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "updater_project", *args],
            cwd=ROOT,
            env=env,
            stdout=logs[name],
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for name, args in commands.items()
    }
    try:
        yield processes
    except BaseException:
        for name in commands:  # shown by pytest with the failure
            print(f"----- {name} log (tail) -----\n{log_text(data_dir, name)[-6000:]}")
        raise
    finally:
        for process in processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for handle in logs.values():
            handle.close()


def log_text(data_dir: Path, name: str) -> str:
    path = data_dir / f"{name}.log"
    return path.read_text(errors="replace") if path.exists() else ""


def wait_for(condition: Callable[[], object], *, timeout: float, interval: float = 0.25, message: str = "") -> object:
    """Poll `condition` until it returns something truthy; fail with `message` after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message or condition}")
        time.sleep(interval)

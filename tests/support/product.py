"""The whole running product for browser tests and benches: Daphne (web + websockets) beside the
real Celery worker and beat of `tests.support.processes`, all on the test database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.processes import ROOT, celery_processes, log_text, product_env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def web_process(data_dir: Path, **overrides: str) -> Iterator[str]:
    """Daphne serving the ASGI app as `serve` does; yields its base URL."""
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log = open(data_dir / "web.log", "w+b")  # noqa: SIM115
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dashboard.launcher.daphne_web",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "updater_project.asgi:application",
        ],
        cwd=ROOT,
        env=product_env(data_dir, **overrides),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_for_port(port, process, data_dir)
        yield f"http://127.0.0.1:{port}"
    except BaseException:
        print(f"----- web log (tail) -----\n{log_text(data_dir, 'web')[-6000:]}")
        raise
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


@contextmanager
def running_product(data_dir: Path, **overrides: str) -> Iterator[str]:
    """Web, worker and beat; yields the web app's base URL."""
    with celery_processes(data_dir, **overrides), web_process(data_dir, **overrides) as url:
        yield url


def _wait_for_port(port: int, process: subprocess.Popen, data_dir: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"daphne exited with {process.returncode}:\n{log_text(data_dir, 'web')[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"daphne did not listen on {port} within {timeout}s")

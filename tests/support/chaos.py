"""Fault injection for real: pause a deploy at a named step, cut the database or Redis off, find and kill
processes. Used by tests/faults/ and the engine's regression tests (import the fixtures you need).

    UPDATER_FAULT_PAUSE / UPDATER_FAULT_DIR   see deployments/engine/faults.py
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from django.db import connection, connections

from deployments.engine.faults import DIR_ENV, PAUSE_ENV


@dataclass
class PausePoints:
    """Where paused runs announce themselves; `wait` for one, inject the fault, then `resume` it."""

    directory: Path
    monkeypatch: pytest.MonkeyPatch | None = None

    def disarm(self) -> None:
        """Runs in this process no longer pause."""
        if self.monkeypatch is not None:
            self.monkeypatch.setenv(PAUSE_ENV, "")

    def env(self, *steps: str) -> dict[str, str]:
        """The environment a worker process needs to pause at `steps`."""
        return {PAUSE_ENV: ",".join(steps), DIR_ENV: str(self.directory)}

    def wait(self, step: str, *, timeout: float = 60) -> tuple[int, int]:
        """Block until some run pauses at `step`; return (run id, pid of the paused process)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for marker in self.directory.glob(f"{step}-*.paused"):
                run_id = int(marker.stem.rsplit("-", 1)[1])
                return run_id, int(marker.read_text() or 0)
            time.sleep(0.05)
        raise AssertionError(f"no run paused at {step!r} within {timeout}s")

    def resume(self, step: str, run_id: int) -> None:
        (self.directory / f"{step}-{run_id}.resume").write_text("go")


@pytest.fixture
def pause_points(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., PausePoints]:
    """`pause_points("replacing", …)`: runs in this process pause there (workers get `points.env(...)`)."""
    directory = tmp_path / "fault-points"
    directory.mkdir()
    points = PausePoints(directory, monkeypatch)

    def arm(*steps: str) -> PausePoints:
        monkeypatch.setenv(PAUSE_ENV, ",".join(steps))
        monkeypatch.setenv(DIR_ENV, str(directory))
        return points

    return arm


class Background(threading.Thread):
    """Run `target` in a thread with its own database connection; `join_result()` re-raises its error."""

    def __init__(self, target: Callable[[], object], name: str = "fault-background") -> None:
        super().__init__(name=name, daemon=True)
        self._target_fn = target
        self.result: object = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self._target_fn()
        except BaseException as exc:
            self.error = exc
        finally:
            connections.close_all()

    def join_result(self, timeout: float = 120) -> object:
        self.join(timeout)
        assert not self.is_alive(), f"{self.name} did not finish within {timeout}s"
        if self.error is not None:
            raise self.error
        return self.result


@pytest.fixture
def redis_unreachable(settings) -> Iterator[None]:
    """Redis cannot be reached: every lease is granted, so only the database can serialise."""
    from deployments.locks import redis_client

    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # the discard port: nothing listens
    redis_client.cache_clear()
    yield
    redis_client.cache_clear()


def _admin() -> psycopg.Connection:
    config = connection.settings_dict
    return psycopg.connect(
        host=config["HOST"],
        port=config["PORT"] or 5432,
        user=config["USER"],
        password=config["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )


@contextmanager
def database_cut_off() -> Iterator[None]:
    """Postgres refuses this test database: open connections are terminated, new ones refused.

    From inside the product that is what a stopped server looks like (OperationalError on the next
    query and on every reconnect), without stopping the server the test itself needs afterwards.
    """
    if connection.vendor != "postgresql":
        raise RuntimeError("database_cut_off needs PostgreSQL (scripts/test.sh runs it)")
    name = connection.settings_dict["NAME"]
    with _admin() as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        )
        try:
            yield
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    connection.close()  # this thread's connection was terminated too: reconnect on next use


def processes_mentioning(text: str) -> list[int]:
    """PIDs whose command line contains `text` (e.g. a unique Compose project name)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            pids.append(int(entry.name))
    return pids


__all__ = [
    "Background",
    "PausePoints",
    "database_cut_off",
    "pause_points",
    "processes_mentioning",
    "redis_unreachable",
]

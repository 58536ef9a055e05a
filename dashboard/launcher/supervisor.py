"""Run child processes, restart any that dies (with backoff), stop them all in order, leave nothing behind.

Each child runs in its own process group, so a Ctrl-C in the terminal reaches only the launcher, which
then stops the children in order (Redis last, after the worker has finished its task). The launcher is
a child subreaper: anything a child leaves behind (a pool process, a `docker compose` of a killed
worker) is re-parented to it and killed on the way out. Children get SIGTERM if the launcher dies.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import logging
import os
import signal
import subprocess
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

logger = logging.getLogger("launcher")

BACKOFF_FIRST = 1.0
BACKOFF_MAX = 60.0
STABLE_AFTER = 60.0  # a child that ran this long starts again from the first backoff step

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_libc = ctypes.CDLL(None, use_errno=True)


def become_subreaper() -> None:
    """Orphaned descendants are re-parented to this process instead of init (Linux ≥ 3.4)."""
    _libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _die_with_launcher(launcher_pid: int) -> None:  # runs in the child between fork and exec
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != launcher_pid:  # the launcher died before the line above
        os._exit(1)


@dataclass(frozen=True)
class Program:
    """A command to keep running."""

    name: str
    argv: list[str]
    env: dict[str, str]
    cwd: Path


@dataclass
class Child:
    program: Program
    process: subprocess.Popen | None = None
    started_at: float = 0.0
    backoff: float = 0.0  # the next restart delay; 0 until the first crash
    restart_at: float | None = None
    restarts: int = 0

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process and self.process.returncode is None else None


@dataclass
class Supervisor:
    """Starts programs, reaps every child (its own and re-parented ones) and restarts its own."""

    children: dict[str, Child] = field(default_factory=dict)
    # The launcher (a subreaper) also reaps re-parented orphans; elsewhere only its own children are waited for.
    reap_orphans: bool = False
    stopping: bool = False
    hurry: bool = False  # a second stop signal: do not wait for children any more

    def start(self, program: Program) -> Child:
        child = self.children.get(program.name) or Child(program)
        self.children[program.name] = child
        launcher_pid = os.getpid()
        child.process = subprocess.Popen(
            program.argv,
            env=program.env,
            cwd=program.cwd,
            process_group=0,
            preexec_fn=lambda: _die_with_launcher(launcher_pid),  # safe: the launcher has no threads
        )
        child.started_at = time.monotonic()
        child.restart_at = None
        logger.info("started %s (pid %s)", program.name, child.process.pid)
        return child

    def reap(self) -> None:
        """Collect every exited child; schedule a restart for the supervised ones."""
        for pid, status in self._exited():
            child = self._child_with_pid(pid)
            if child is None or child.process is None:
                continue  # a re-parented orphan
            child.process.returncode = os.waitstatus_to_exitcode(status)
            if not self.stopping:
                self._schedule_restart(child)

    def _exited(self) -> Iterator[tuple[int, int]]:
        if not self.reap_orphans:
            for child in list(self.children.values()):
                if child.pid:
                    with contextlib.suppress(ChildProcessError):
                        pid, status = os.waitpid(child.pid, os.WNOHANG)
                        if pid:
                            yield pid, status
            return
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            yield pid, status

    def _child_with_pid(self, pid: int) -> Child | None:
        return next((c for c in self.children.values() if c.process and c.process.pid == pid), None)

    def _schedule_restart(self, child: Child) -> None:
        ran_for = time.monotonic() - child.started_at
        if not child.backoff or ran_for >= STABLE_AFTER:
            child.backoff = BACKOFF_FIRST
        code = child.process.returncode if child.process else None
        how = f"was killed by signal {-code}" if code is not None and code < 0 else f"exited with code {code}"
        logger.error(
            "%s (pid %s) %s after %.0f s; restarting in %.1f s",
            child.program.name,
            child.process.pid if child.process else "?",
            how,
            ran_for,
            child.backoff,
        )
        child.restart_at = time.monotonic() + child.backoff
        child.backoff = min(BACKOFF_MAX, child.backoff * 2)

    def restart_due(self) -> None:
        now = time.monotonic()
        for child in list(self.children.values()):
            if child.restart_at is not None and child.restart_at <= now and not self.stopping:
                child.restarts += 1
                try:
                    self.start(child.program)
                except OSError as exc:
                    logger.error("cannot start %s: %s", child.program.name, exc)
                    child.process = None
                    self._schedule_restart(child)

    def stop(self, names: Iterable[str], timeout: float) -> None:
        """SIGTERM the named children, wait up to `timeout`, then SIGKILL their process groups."""
        running = [c for name in names if (c := self.children.get(name)) and c.pid]
        for child in running:
            logger.info("stopping %s (pid %s)", child.program.name, child.pid)
            _signal_group(child, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while any(c.pid for c in running) and time.monotonic() < deadline and not self.hurry:
            time.sleep(0.1)
            self.reap()
        for child in running:
            if child.pid:
                logger.warning("%s did not stop in time: killing it", child.program.name)
                _signal_group(child, signal.SIGKILL)
        while any(c.pid for c in running):
            time.sleep(0.05)
            self.reap()
        for child in running:
            code = child.process.returncode if child.process else None
            logger.info("%s stopped (exit code %s)", child.program.name, code)
            _signal_group(child, signal.SIGKILL)  # the group may outlive its leader (pool processes finishing)

    def kill_leftovers(self) -> None:
        """Kill whatever descendant is still alive (re-parented orphans), and reap it."""
        for _ in range(50):
            pids = descendants(os.getpid())
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)
            self.reap()


def _signal_group(child: Child, signum: int) -> None:
    if child.process is None:
        return
    try:
        os.killpg(child.process.pid, signum)
    except ProcessLookupError:
        pass
    except PermissionError as exc:  # pragma: no cover - a setuid child; not ours to kill
        if exc.errno != errno.EPERM:
            raise


def descendants(root: int) -> list[int]:
    """Every live process below `root`, from /proc (children first by pid order is not needed)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if fields and fields[0] != "Z":
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[int] = []
    pending = list(children.get(root, []))
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(children.get(pid, []))
    return found

"""Task time limits and a memory ceiling for Celery's threads pool, which enforces neither on its own.

The launcher runs the worker with `--pool threads`: deploys and checks wait on Docker and registries,
so one process with a few threads does the work of a prefork pool at a third of the memory. Celery
only enforces time limits in prefork (a signal in the child), so this does the same for threads:

- soft limit: `SoftTimeLimitExceeded` is raised in the task's thread (CPython's async exception, the
  thread equivalent of prefork's signal). The deploy engine catches it, restores and fails the run.
  Like a signal, it lands at the next Python instruction: the engine waits on Compose in 0.1 s polls.
- hard limit: a thread cannot be killed, so the worker process exits (prefork kills its child); the
  launcher restarts it and the reconciler recovers the run from the database, as after any crash.
- memory: after a task, a worker whose resident memory passed `UPDATER_WORKER_MAX_MEMORY` stops
  gracefully and is restarted (prefork's `--max-memory-per-child`).
"""

from __future__ import annotations

import ctypes
import logging
import os
import resource
import signal
import threading
import time
from dataclasses import dataclass

from celery import Celery, Task, signals
from celery.exceptions import SoftTimeLimitExceeded

logger = logging.getLogger(__name__)

HARD_LIMIT_EXIT_CODE = 70
_PAGE_SIZE = resource.getpagesize()


@dataclass
class _Running:
    task_id: str
    name: str
    soft_deadline: float | None
    hard_deadline: float | None
    soft_sent: bool = False


class ThreadTimeLimits:
    """Tracks running tasks by thread and enforces their limits from one watchdog thread."""

    def __init__(self, app: Celery, max_memory_mb: int, *, tick: float = 0.5) -> None:
        self.app = app
        self.max_memory_bytes = max_memory_mb * 1024 * 1024
        self.tick = tick
        self.running: dict[int, _Running] = {}
        self.lock = threading.Lock()
        self.stopping_for_memory = False

    def install(self) -> None:
        signals.task_prerun.connect(self.on_prerun, weak=False)
        signals.task_postrun.connect(self.on_postrun, weak=False)
        threading.Thread(target=self.watch, name="time-limits", daemon=True).start()
        logger.info("thread pool time limits enforced; memory ceiling %s MB", self.max_memory_bytes // 2**20)

    def on_prerun(self, task_id: str, task: Task, **_kwargs: object) -> None:
        hard, soft = self._limits(task)
        now = time.monotonic()
        entry = _Running(task_id, task.name, now + soft if soft else None, now + hard if hard else None)
        with self.lock:
            self.running[threading.get_ident()] = entry

    def on_postrun(self, **_kwargs: object) -> None:
        with self.lock:
            self.running.pop(threading.get_ident(), None)
        self._check_memory()

    def _limits(self, task: Task) -> tuple[float | None, float | None]:
        hard, soft = getattr(task.request, "timelimit", None) or (None, None)
        conf = self.app.conf
        hard = hard or task.time_limit or conf.task_time_limit
        soft = soft or task.soft_time_limit or conf.task_soft_time_limit
        return hard, soft

    def watch(self) -> None:
        while True:
            time.sleep(self.tick)
            self.enforce(time.monotonic())

    def enforce(self, now: float) -> None:
        with self.lock:
            overdue = list(self.running.items())
        for thread_id, entry in overdue:
            if entry.hard_deadline is not None and now >= entry.hard_deadline:
                logger.critical(
                    "task %s[%s] passed its hard time limit: stopping the worker (it is restarted, and "
                    "the reconciler recovers any deploy it was running)",
                    entry.name,
                    entry.task_id,
                )
                logging.shutdown()
                os._exit(HARD_LIMIT_EXIT_CODE)
            if entry.soft_deadline is not None and now >= entry.soft_deadline and not entry.soft_sent:
                entry.soft_sent = True
                logger.warning("task %s[%s] passed its soft time limit", entry.name, entry.task_id)
                raise_in_thread(thread_id, SoftTimeLimitExceeded)

    def _check_memory(self) -> None:
        resident = resident_bytes()
        if resident > self.max_memory_bytes and not self.stopping_for_memory:
            self.stopping_for_memory = True
            logger.warning(
                "worker uses %s MB, more than UPDATER_WORKER_MAX_MEMORY (%s MB): restarting it after its tasks",
                resident // 2**20,
                self.max_memory_bytes // 2**20,
            )
            os.kill(os.getpid(), signal.SIGTERM)  # Celery's warm shutdown; the launcher starts a new worker


def raise_in_thread(thread_id: int, exception: type[BaseException]) -> bool:
    """Raise `exception` in another thread at its next Python instruction; False if it has ended."""
    done = ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), ctypes.py_object(exception))
    if done > 1:  # never expected: undo rather than hit several threads
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), None)
    return done == 1


def resident_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * _PAGE_SIZE

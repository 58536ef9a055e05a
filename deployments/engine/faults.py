"""Named points in a deploy where the fault-injection tests pause a real worker (test-only, off by default).

With `UPDATER_FAULT_PAUSE=step[,step…]` and `UPDATER_FAULT_DIR=/some/dir` in a worker's environment, a
run reaching one of those steps writes `<dir>/<step>-<run id>.paused` (holding the worker's pid) and
waits, heartbeating, until `<dir>/<step>-<run id>.resume` appears or `FAULT_PAUSE_MAX` passes. The test
then injects its fault for real: SIGKILL the worker, stop Postgres or Redis, edit the Compose file…

Unset (production), `fault_point` is one environment lookup.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

PAUSE_ENV = "UPDATER_FAULT_PAUSE"
DIR_ENV = "UPDATER_FAULT_DIR"
FAULT_PAUSE_MAX = 300.0
STEPS = (
    "started",  # the run left pending; nothing changed yet
    "planned",  # the Compose edit is planned and its backup stored, the file not yet written
    "edited",  # the file is written, `compose config` not yet run
    "pulled",  # the image is on the host, nothing replaced
    "replacing",  # right before `compose up`
    "verified",  # verification passed and was recorded, before the final write
    "restoring",  # a failed run is about to restore
)


def fault_point(step: str, run_id: int, heartbeat: Callable[[], None]) -> None:
    names = os.environ.get(PAUSE_ENV)
    if not names or step not in names.split(","):
        return
    directory = Path(os.environ.get(DIR_ENV) or ".")
    marker = directory / f"{step}-{run_id}"
    marker.with_suffix(".paused").write_text(str(os.getpid()))
    resume = marker.with_suffix(".resume")
    deadline = time.monotonic() + FAULT_PAUSE_MAX
    next_beat = 0.0
    while not resume.exists() and time.monotonic() < deadline:
        if time.monotonic() >= next_beat:
            heartbeat()
            next_beat = time.monotonic() + 1.0
        time.sleep(0.05)

"""Tasks only the worker-limit tests load (`celery worker -I tests.support.celery_tasks`)."""

from __future__ import annotations

import time
from pathlib import Path

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded


@shared_task(name="tests.loop_until_stopped", ignore_result=True)
def loop_until_stopped(marker: str, *, swallow: bool = False) -> None:
    """Busy-wait like a deploy polling Compose; note the soft limit in `marker` (and ignore it if asked)."""
    while True:
        try:
            while True:
                time.sleep(0.05)
        except SoftTimeLimitExceeded:
            Path(marker).write_text("soft time limit reached\n")
            if not swallow:
                return


@shared_task(name="tests.noop", ignore_result=True)
def noop(marker: str) -> None:
    Path(marker).write_text("done\n")

"""At most UPDATER_SCAN_CONCURRENCY Trivy processes at once, fleet-wide: one Redis lease per slot.

Trivy takes much memory and CPU on large images; the slots keep deploys and the web app responsive.
Like every lease here it only saves work: if Redis is down a slot is granted anyway.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings

from deployments.locks import lease

POLL_SECONDS = 1.0


@contextmanager
def scan_slot(*, wait_seconds: float = 0.0, on_tick: Callable[[], None] | None = None) -> Iterator[bool]:
    """Yield True holding a free slot, or False if none freed up within `wait_seconds`."""
    deadline = time.monotonic() + wait_seconds
    while True:
        for index in range(settings.SCAN_CONCURRENCY):
            with lease(f"scan-slot:{index}", seconds=settings.SCAN_TIMEOUT + 120) as held:
                if held is not None:
                    yield True
                    return
        if time.monotonic() >= deadline:
            yield False
            return
        if on_tick:
            on_tick()
        time.sleep(POLL_SECONDS)

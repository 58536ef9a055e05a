"""Redis leases. They only avoid wasted work: correctness comes from the database (run generations, the
project claim), and with Redis down every lease is granted."""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

import redis
from django.conf import settings
from redis.exceptions import LockError, RedisError

logger = logging.getLogger(__name__)
LEASE_SECONDS = 60


@functools.cache
def redis_client() -> redis.Redis:
    return redis.Redis.from_url(
        settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=5, **settings.REDIS_CLIENT_OPTIONS
    )


class Lease:
    """A held lock; `renew()` pushes its expiry out (called from the run's heartbeat)."""

    def __init__(self, lock: redis.lock.Lock | None) -> None:
        self._lock = lock

    def renew(self) -> None:
        if self._lock is None:
            return
        try:
            self._lock.reacquire()
        except (LockError, RedisError) as exc:
            logger.warning("could not renew lease %s: %s", self._lock.name, exc)


@contextmanager
def lease(name: str, *, seconds: int = LEASE_SECONDS) -> Iterator[Lease | None]:
    """Yield a `Lease` if `name` was free, None if someone else holds it.

    If Redis cannot be reached the lease is granted anyway (with a warning): the database fencing
    still prevents two deploys of one service, the lock only saves work.
    """
    try:
        lock = redis_client().lock(f"updater:lease:{name}", timeout=seconds, blocking=False)
        acquired = lock.acquire()
    except RedisError as exc:
        logger.warning("Redis unavailable for lease %s (%s); relying on database fencing", name, exc)
        yield Lease(None)
        return
    if not acquired:
        yield None
        return
    try:
        yield Lease(lock)
    finally:
        with contextlib.suppress(LockError, RedisError):  # expired or Redis gone: nothing to release
            lock.release()


def project_lease(project_id: int) -> AbstractContextManager[Lease | None]:
    """Spares a busy project's claim query (the database claim is what serialises, engine/claims.py).

    It lasts as long as a run takes to look abandoned and is renewed by every heartbeat, so a killed
    worker's lease is gone by the time the reconciler may take its run over.
    """
    return lease(f"project:{project_id}", seconds=settings.DEPLOY_STALE_AFTER)

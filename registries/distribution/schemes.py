"""Which scheme, https or plain http, each loopback or insecure registry host answered on.

Shared by every client in the process: a check cycle builds new clients, and without this each of them
would pay one failed https request per such host before falling back to http.
"""

from __future__ import annotations

import threading
import time

# Long enough to span many check cycles, short enough that a registry which gains or loses TLS is
# probed again within the hour (a request on the wrong scheme does not always fail at connection level).
SCHEME_TTL = 3600.0  # seconds
MAX_HOSTS = 256  # only loopback and insecure hosts are cached: a handful in practice, this is a backstop


class SchemeCache:
    """A tiny thread-safe map of host → scheme; entries expire after `ttl` seconds, the oldest go first."""

    def __init__(self, ttl: float = SCHEME_TTL, max_hosts: int = MAX_HOSTS) -> None:
        self.ttl = ttl
        self.max_hosts = max_hosts
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[str, float]] = {}  # host → (scheme, expires at time.monotonic())

    def get(self, host: str) -> str | None:
        with self._lock:
            scheme, expires_at = self._entries.get(host.lower(), ("", 0.0))
            if scheme and expires_at > time.monotonic():
                return scheme
            self._entries.pop(host.lower(), None)
            return None

    def remember(self, host: str, scheme: str) -> None:
        with self._lock:
            self._entries.pop(host.lower(), None)
            if len(self._entries) >= self.max_hosts:  # drop the oldest: dicts keep insertion order
                del self._entries[next(iter(self._entries))]
            self._entries[host.lower()] = (scheme, time.monotonic() + self.ttl)

    def forget(self, host: str) -> None:
        with self._lock:
            self._entries.pop(host.lower(), None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


KNOWN_SCHEMES = SchemeCache()

"""Small helpers for registry client tests: fast clients and unique repository names."""

from __future__ import annotations

import uuid

from registries.client import RegistryClient
from tests.support.fake_registry import FakeRegistry, FakeResponse
from tests.support.registry import RunningRegistry


def unique_repository(prefix: str = "test") -> str:
    """A repository name no other test uses (the real registries are shared by the session)."""
    return f"{prefix}/r{uuid.uuid4().hex[:12]}"


def client_for(running: RunningRegistry, *, anonymous: bool = False, **options: object) -> RegistryClient:
    """A client for a real test registry with its credentials, short timeouts and no retries."""
    options = {"timeout": 5.0, "retries": 0, **options}
    if not anonymous and running.username:
        options.setdefault("username", running.username)
        options.setdefault("password", running.password or "")
    return RegistryClient(running.host, **options)  # type: ignore[arg-type]


def fake_client(fake: FakeRegistry, **options: object) -> RegistryClient:
    """A client for the emulated registry that has already settled on plain http.

    The first request to a loopback host probes https first (one extra request); pinging once here keeps
    request counts in the tests about the behaviour under test only. Counting restarts at zero.
    """
    fake.route("GET", "/v2/", FakeResponse(200, {}))
    client = RegistryClient(fake.host, **{"timeout": 2.0, "retries": 2, "backoff": 0.01, **options})  # type: ignore[arg-type]
    client.ping()
    client.request_count = 0
    fake.requests.clear()
    return client

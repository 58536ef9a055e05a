"""Registry services: a configured client for a registry host, and Docker credentials for pulling from it."""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable
from typing import Any

from registries.client import RegistryClient
from registries.models import Registry
from registries.reference import DOCKER_HUB, DOCKER_HUB_ALIASES, DOCKER_HUB_API_HOST, validate_registry_host

# The key the Docker CLI and engine look up Docker Hub credentials under in config.json.
DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/"


def _registry_row(registry: str) -> Registry | None:
    """The row for `registry`; for Docker Hub, a row under any of its names (exact name, then `docker.io`)."""
    host = validate_registry_host(registry)
    if host not in DOCKER_HUB_ALIASES:
        return Registry.objects.filter(host=host).first()
    # Users store Docker Hub as `docker login` spells it (index.docker.io, registry-1.docker.io, ...),
    # while image references always normalise to docker.io.
    rows = {row.host: row for row in Registry.objects.filter(host__in=DOCKER_HUB_ALIASES)}
    return rows.get(host) or rows.get(DOCKER_HUB) or (rows[min(rows)] if rows else None)


def registry_client_for(registry: str, api_host: str | None = None) -> RegistryClient:
    """A client for the registry of an image reference (`docker.io`, `ghcr.io`, `127.0.0.1:5000`).

    Credentials come from the `Registry` row with that host (for Docker Hub, under any of its names);
    without one the client is anonymous.
    A secret that cannot be decrypted raises `CredentialUndecryptable`: ciphertext is never sent.
    """
    host = api_host or (DOCKER_HUB_API_HOST if registry in DOCKER_HUB_ALIASES else registry)
    row = _registry_row(registry)
    if row is None:
        return RegistryClient(host)
    return RegistryClient(host, username=row.username, password=row.get_secret(), insecure=row.insecure)


def registry_client_factory(registry: str, api_host: str | None = None, **options: Any) -> Callable[[], RegistryClient]:
    """Like `registry_client_for`, but the credentials are read now and clients are built later without the database.

    For worker threads: each calls the factory for a client of its own (a client is not thread-safe).
    `options` go to `RegistryClient`, e.g. `retries=0` for a caller that retries within its own budget.
    """
    host = api_host or (DOCKER_HUB_API_HOST if registry in DOCKER_HUB_ALIASES else registry)
    row = _registry_row(registry)
    if row is None:
        return functools.partial(RegistryClient, host, **options)
    secret = row.get_secret()  # raises CredentialUndecryptable now, in the caller, not in a thread
    return functools.partial(
        RegistryClient, host, username=row.username, password=secret, insecure=row.insecure, **options
    )


def registry_docker_auth(registry: str) -> dict[str, dict[str, str]] | None:
    """The `auths` entry of a private Docker config.json for pulling from `registry`; None if anonymous.

    Docker Hub's entry is keyed `https://index.docker.io/v1/`, as `docker login` writes it.
    """
    row = _registry_row(registry)
    if row is None or not (row.username or row.has_secret):
        return None
    credentials = base64.b64encode(f"{row.username}:{row.get_secret()}".encode()).decode()
    key = DOCKER_HUB_AUTH_KEY if registry in DOCKER_HUB_ALIASES else registry
    return {key: {"auth": credentials}}

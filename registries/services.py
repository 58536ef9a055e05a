"""Registry services: a configured client for a registry host, `docker pull` credentials, and tag listings with
push times. Everything goes through the registry's provider (`registries.providers`)."""

from __future__ import annotations

import base64
import functools
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings

from registries.client import RegistryClient, RegistryError
from registries.configs import provider_for_host
from registries.providers import Provider, ProviderCredentials, TagListing, provider_for
from registries.reference import DOCKER_HUB_ALIASES

logger = logging.getLogger(__name__)

# The key the Docker CLI and engine look up Docker Hub credentials under in config.json.
DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/"


def registry_client_for(registry: str, api_host: str | None = None) -> RegistryClient:
    """A client for the registry of an image reference (`docker.io`, `ghcr.io`, `127.0.0.1:5000`).

    Credentials come from the registry's provider: the `Registry` row with that host (for Docker Hub, under any
    of its names), renewed by the provider before they expire; without a row the client is anonymous (AWS ECR:
    the default credential chain). The API host is the row's endpoint, else `api_host`, else the provider's.
    A secret that cannot be decrypted raises `CredentialUndecryptable`: ciphertext is never sent.
    """
    provider, row = provider_for_host(registry)
    return client_for_provider(provider, api_host=(row.endpoint if row else "") or api_host)


def client_for_provider(provider: Provider, *, api_host: str | None = None, **options: object) -> RegistryClient:
    config = provider.config
    return RegistryClient(
        api_host or provider.api_host,
        credentials=ProviderCredentials(provider),
        insecure=config.insecure,
        ca_file=config.ca_file or None,
        **options,  # type: ignore[arg-type]
    )


class RegistryAccess:
    """A registry's provider, resolved from the database once, then usable from worker threads.

    A stored secret is decrypted when this is built, so `CredentialUndecryptable` is raised in the caller,
    never in a thread; clients and tag listings need no database afterwards.
    """

    def __init__(self, registry: str, api_host: str | None = None) -> None:
        self.registry = registry
        self._provider, row = provider_for_host(registry)
        self._api_host = (row.endpoint if row else "") or api_host

    def client(self, **options: Any) -> RegistryClient:
        """A new client (a client is not thread-safe: one per thread)."""
        return client_for_provider(self._provider, api_host=self._api_host, **options)

    def tag_listing(self, repository: str, client: RegistryClient) -> TagListing:
        """Like `repository_tags`, with a provider of its own so that threads never share one."""
        return _tag_listing(provider_for(self._provider.config), self.registry, repository, client)


def registry_client_factory(registry: str, api_host: str | None = None, **options: Any) -> Callable[[], RegistryClient]:
    """Like `registry_client_for`, but the credentials are read now and clients are built later without the database.

    For worker threads: each calls the factory for a client of its own. `options` go to `RegistryClient`,
    e.g. `retries=0` for a caller that retries within its own budget.
    """
    return functools.partial(RegistryAccess(registry, api_host).client, **options)


def registry_docker_auth(registry: str) -> dict[str, dict[str, str]] | None:
    """The `auths` entry of a private Docker config.json for pulling from `registry`; None if anonymous.

    Issued credentials (ECR, ACR, GCP tokens) are renewed first if they would expire before a pull could end.
    Docker Hub's entry is keyed `https://index.docker.io/v1/`, as `docker login` writes it.
    """
    provider, _ = provider_for_host(registry)
    if not provider.has_credentials:
        return None
    username, password = ProviderCredentials(provider, fresh_for=settings.PULL_TIMEOUT).credentials()
    if not (username or password):
        return None
    credentials = base64.b64encode(f"{username}:{password}".encode()).decode()
    key = DOCKER_HUB_AUTH_KEY if registry in DOCKER_HUB_ALIASES else registry
    return {key: {"auth": credentials}}


def repository_tags(registry: str, repository: str, *, client: RegistryClient | None = None) -> TagListing:
    """Every tag of `registry/repository`, with push times and digests where the provider's API has them.

    ECR, Docker Hub, ACR, Artifact Registry/GCR, Harbor, SWR (AK/SK) and DOCR answer with times from their own
    API; the others, or a provider API that fails (logged, and named in `source`), fall back to the
    Distribution tag list with no times — the check then reads image `created` times where ranking needs them.
    Pass the cycle's `client` to share its connection and request count.
    """
    provider, _ = provider_for_host(registry)
    return _tag_listing(provider, registry, repository, client or registry_client_for(registry))


def _tag_listing(provider: Provider, registry: str, repository: str, client: RegistryClient) -> TagListing:
    fallback_reason = ""
    try:
        listing = provider.list_tags_with_times(repository, client)
    except RegistryError as exc:
        logger.warning("%s: %s tag API failed, using the registry's tag list: %s", registry, provider.label, exc)
        listing, fallback_reason = None, f" ({provider.label} API failed: {exc})"
    finally:
        provider.close()
    if listing is not None:
        return listing
    tags = client.list_tags(repository)
    return TagListing(tags=tags, source=f"distribution tag list{fallback_reason}")

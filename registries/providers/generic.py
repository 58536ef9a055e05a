"""Any OCI Distribution registry (GHCR, Quay, GitLab, Nexus, self-hosted distribution): username and password or
token, optional private CA, plain HTTP for loopback or registries marked insecure. No push-time API: the check
reads image `created` times from the config blobs when ranking needs them."""

from __future__ import annotations

from registries.providers.base import Provider


class GenericProvider(Provider):
    name = "generic"
    label = "Generic OCI registry"

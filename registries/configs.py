"""From a registry host to a provider: the stored row (or, without one, the provider its host name implies)."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from django.conf import settings

from registries.models import Registry
from registries.providers import Provider, RegistryConfig, provider_for
from registries.reference import DOCKER_HUB, DOCKER_HUB_ALIASES, validate_registry_host

# Host names that say which provider serves them, for registries that have no row (anonymous or the default
# AWS credential chain). Anything else is a generic OCI registry.
HOST_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^\d{12}\.dkr[.-]ecr(?:-fips)?\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?$"), Registry.Provider.ECR),
    (re.compile(r"^[a-z0-9]+\.azurecr\.(?:io|cn|us)$"), Registry.Provider.ACR),
    (re.compile(r"^(?:(?:eu|us|asia)\.)?gcr\.io$|^[a-z0-9-]+-docker\.pkg\.dev$"), Registry.Provider.GCP),
    (re.compile(r"^swr\.[a-z0-9-]+\.myhuaweicloud\.(?:com|eu|cn)$"), Registry.Provider.SWR),
    (re.compile(r"^registry\.digitalocean\.com$"), Registry.Provider.DOCR),
]


def detect_provider(host: str) -> str:
    """The provider a registry host name implies (`docker.io` → dockerhub, `*.azurecr.io` → acr, …)."""
    if host in DOCKER_HUB_ALIASES:
        return Registry.Provider.DOCKERHUB
    bare = host.split(":")[0].lower()
    for pattern, provider in HOST_PATTERNS:
        if pattern.match(bare):
            return provider
    return Registry.Provider.GENERIC


def registry_row(registry: str) -> Registry | None:
    """The row for `registry`; for Docker Hub, a row under any of its names (exact name, then `docker.io`)."""
    host = validate_registry_host(registry)
    if host not in DOCKER_HUB_ALIASES:
        return Registry.objects.filter(host=host).first()
    # Users store Docker Hub as `docker login` spells it (index.docker.io, registry-1.docker.io, ...),
    # while image references always normalise to docker.io.
    rows = {row.host: row for row in Registry.objects.filter(host__in=DOCKER_HUB_ALIASES)}
    return rows.get(host) or rows.get(DOCKER_HUB) or (rows[min(rows)] if rows else None)


def config_for_row(row: Registry) -> RegistryConfig:
    """The provider configuration of a row, secret decrypted (raises `CredentialUndecryptable`)."""
    # A Docker Hub host is Docker Hub whatever provider the row names (rows from before providers existed).
    provider = Registry.Provider.DOCKERHUB if row.host in DOCKER_HUB_ALIASES else row.provider
    return RegistryConfig(
        provider=provider,
        host=row.host,
        endpoint=row.endpoint,
        username=row.username,
        secret=row.get_secret(),
        options={key: str(value) for key, value in (row.options or {}).items()},
        ca_certificate=row.ca_certificate,
        ca_file=ca_bundle(row.ca_certificate),
        insecure=row.insecure,
        cache_key=f"row:{row.pk}:{row.updated_at.isoformat() if row.updated_at else ''}" if row.pk else "",
    )


def provider_for_host(registry: str) -> tuple[Provider, Registry | None]:
    """The provider for a registry host: from its row, else the one its name implies, anonymous."""
    row = registry_row(registry)
    if row is not None:
        return provider_for(config_for_row(row)), row
    return provider_for(RegistryConfig(provider=detect_provider(registry), host=registry)), None


def ca_bundle(pem: str) -> str:
    """A CA bundle file (the system's CAs plus `pem`) for requests; "" without a PEM. Written once per content."""
    if not pem.strip():
        return ""
    import certifi

    digest = hashlib.sha256(pem.encode()).hexdigest()[:32]
    directory = Path(settings.DATA_DIR, "registry-ca")
    path = directory / f"{digest}.pem"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        system = Path(certifi.where()).read_text(encoding="utf-8")
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(f"{system.rstrip()}\n{pem.strip()}\n", encoding="utf-8")
        temporary.replace(path)  # atomic: a concurrent reader sees the old name missing or the whole file
    return str(path)

"""Registry providers: one module each, loaded on first use so that no cloud SDK is imported before a registry
of that provider is used (`import registries.providers` imports none; a test checks it)."""

from __future__ import annotations

import importlib

from registries.providers.base import (
    Credentials,
    Provider,
    ProviderCredentials,
    RegistryConfig,
    TagListing,
    cached,
    forget_all,
)

# name -> (module, class, label). The order is the admin's.
PROVIDERS: dict[str, tuple[str, str, str]] = {
    "generic": ("generic", "GenericProvider", "Generic OCI registry (GHCR, Quay, GitLab, self-hosted...)"),
    "dockerhub": ("dockerhub", "DockerHubProvider", "Docker Hub"),
    "ecr": ("ecr", "EcrProvider", "AWS ECR"),
    "acr": ("acr", "AcrProvider", "Azure ACR"),
    "gcp": ("gcp", "GcpProvider", "Google Artifact Registry / GCR"),
    "harbor": ("harbor", "HarborProvider", "Harbor"),
    "swr": ("swr", "SwrProvider", "Huawei Cloud SWR"),
    "docr": ("docr", "DocrProvider", "DigitalOcean DOCR"),
}


def provider_class(name: str) -> type[Provider]:
    try:
        module, cls, _ = PROVIDERS[name]
    except KeyError:
        raise ValueError(f"unknown registry provider {name!r}; one of {', '.join(PROVIDERS)}") from None
    return getattr(importlib.import_module(f"registries.providers.{module}"), cls)


def provider_for(config: RegistryConfig) -> Provider:
    return provider_class(config.provider)(config)


__all__ = [
    "PROVIDERS",
    "Credentials",
    "Provider",
    "ProviderCredentials",
    "RegistryConfig",
    "TagListing",
    "cached",
    "forget_all",
    "provider_class",
    "provider_for",
]

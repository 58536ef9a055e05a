"""Registry push webhooks: one module per registry family, each verifying its sender and parsing its payload
into `Push`es. `registries.webhooks.services` receives a request; the view is `registries.views.webhook`."""

from __future__ import annotations

from registries.webhooks.acr import AcrFamily
from registries.webhooks.base import Delivery, Family, Incoming, Push, WebhookRefused
from registries.webhooks.distribution import DistributionFamily, GitLabFamily
from registries.webhooks.dockerhub import DockerHubFamily
from registries.webhooks.github import GitHubFamily
from registries.webhooks.harbor import HarborFamily
from registries.webhooks.quay import QuayFamily

FAMILIES: dict[str, Family] = {
    family.name: family
    for family in (
        DistributionFamily(),
        GitLabFamily(),
        DockerHubFamily(),
        HarborFamily(),
        AcrFamily(),
        GitHubFamily(),
        QuayFamily(),
    )
}
# The family a registry's provider sends, when the admin does not choose one.
PROVIDER_FAMILIES = {"dockerhub": "dockerhub", "harbor": "harbor", "acr": "acr"}
HOST_FAMILIES = {"ghcr.io": "github", "quay.io": "quay", "registry.gitlab.com": "gitlab"}

__all__ = ["FAMILIES", "Delivery", "Family", "Incoming", "Push", "WebhookRefused", "default_family", "family"]


def family(name: str) -> Family:
    return FAMILIES[name]


def default_family(*, provider: str, host: str) -> str:
    return PROVIDER_FAMILIES.get(provider) or HOST_FAMILIES.get(host) or "distribution"

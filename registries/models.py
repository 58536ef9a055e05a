"""Where images live: registries the updater talks to, with their credentials encrypted at rest."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

from registries.reference import validate_registry_host
from registries.secrets import SealedSecret


class Registry(SealedSecret):
    """A registry host (`ghcr.io`, `127.0.0.1:5000`, `docker.io`) and how to authenticate to it.

    Services whose image lives on a host with no row here are checked anonymously.
    """

    class Provider(models.TextChoices):
        GENERIC = "generic", "Generic OCI registry (GHCR, Quay, GitLab, self-hosted…)"
        DOCKERHUB = "dockerhub", "Docker Hub"
        ECR = "ecr", "AWS ECR"
        ACR = "acr", "Azure ACR"
        GCP = "gcp", "Google Artifact Registry / GCR"
        HARBOR = "harbor", "Harbor"
        SWR = "swr", "Huawei Cloud SWR"
        DOCR = "docr", "DigitalOcean DOCR"

    host = models.CharField(
        max_length=255, unique=True, help_text="Registry host as it appears in image references, e.g. ghcr.io"
    )
    provider = models.CharField(max_length=32, choices=Provider.choices, default=Provider.GENERIC)
    endpoint = models.CharField(
        max_length=255,
        blank=True,
        help_text="Where the registry API is served, if not at the host (a mirror or proxy): host[:port].",
    )
    username = models.CharField(
        max_length=255,
        blank=True,
        help_text="User, robot account, access key ID or client ID, depending on the provider.",
    )
    options = models.JSONField(
        default=dict, blank=True, help_text="Provider settings that are not secret (region, role, tenant…)."
    )
    ca_certificate = models.TextField(
        blank=True,
        help_text="PEM certificate of a private CA to trust for this registry, besides the system's. Docker needs it "
        "too for pulls: /etc/docker/certs.d/<host>/ca.crt.",
    )
    insecure = models.BooleanField(
        default=False, help_text="Allow plain HTTP (loopback registries are always allowed, as in Docker)."
    )
    managed_by_env = models.BooleanField(
        default=False, editable=False, help_text="Imported from .updater.env at start-up; edit it there."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["host"]
        verbose_name_plural = "registries"

    def __str__(self) -> str:
        return self.host

    def clean(self) -> None:
        errors = {}
        for name in ("host", "endpoint"):
            value = getattr(self, name)
            if value or name == "host":
                try:
                    validate_registry_host(value)
                except ValueError as exc:
                    errors[name] = str(exc)
        if self.ca_certificate.strip():
            from cryptography import x509

            try:
                x509.load_pem_x509_certificates(self.ca_certificate.strip().encode())
            except ValueError:
                errors["ca_certificate"] = "not a PEM certificate (-----BEGIN CERTIFICATE----- ...)"
        if errors:
            raise ValidationError(errors)


class RegistryHealth(models.Model):
    """Whether a registry host answered the last check that asked it, and since when.

    Kept per host (with or without a `Registry` row) so that a host that stays down is reported once,
    when it goes down, and once more when it answers again, across cycles and processes.
    """

    host = models.CharField(max_length=255, unique=True)
    reachable = models.BooleanField(default=True)
    error = models.TextField(blank=True, help_text="Why the last check could not reach it.")
    changed_at = models.DateTimeField(help_text="Since when it is (un)reachable.")
    checked_at = models.DateTimeField()
    # Counters for /metrics, added to by every check cycle: shared by all processes, never reset.
    request_count = models.PositiveBigIntegerField(default=0, help_text="HTTP requests the checks sent to it.")
    error_count = models.PositiveBigIntegerField(default=0, help_text="Repository checks that failed on it.")
    # Docker Hub's pull quota (RateLimit-* headers) as the last answer that carried it said.
    quota_remaining = models.IntegerField(null=True, blank=True)
    quota_limit = models.IntegerField(null=True, blank=True)
    quota_checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["host"]
        verbose_name_plural = "registry health"

    def __str__(self) -> str:
        return f"{self.host} ({'reachable' if self.reachable else 'unreachable'})"


class SeenTag(models.Model):
    """When the updater first listed a tag: the age of a tag whose registry gives no push time.

    Written in bulk by the check cycle for the repositories of services with a minimum image age.
    """

    repository = models.CharField(max_length=512, help_text="Normalised registry/repository.")
    tag = models.CharField(max_length=128)
    first_seen_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["repository", "tag"], name="one_seen_tag_per_repository")]

    def __str__(self) -> str:
        return f"{self.repository}:{self.tag} (first seen {self.first_seen_at:%Y-%m-%d %H:%M})"


from registries.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookFamily  # noqa: E402

__all__ = ["Registry", "RegistryHealth", "SeenTag", "WebhookDelivery", "WebhookEndpoint", "WebhookFamily"]

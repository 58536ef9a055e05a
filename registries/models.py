"""Where images live: registries the updater talks to, with their credentials encrypted at rest."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

from registries.reference import validate_registry_host
from registries.secrets import decrypt_secret, encrypt_secret


class Registry(models.Model):
    """A registry host (`ghcr.io`, `127.0.0.1:5000`, `docker.io`) and how to authenticate to it.

    Services whose image lives on a host with no row here are checked anonymously.
    """

    class Provider(models.TextChoices):
        GENERIC = "generic", "Generic OCI registry"

    host = models.CharField(
        max_length=255, unique=True, help_text="Registry host as it appears in image references, e.g. ghcr.io"
    )
    provider = models.CharField(max_length=32, choices=Provider.choices, default=Provider.GENERIC)
    username = models.CharField(max_length=255, blank=True)
    secret_encrypted = models.TextField(blank=True, editable=False)
    insecure = models.BooleanField(
        default=False, help_text="Allow plain HTTP (loopback registries are always allowed, as in Docker)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["host"]
        verbose_name_plural = "registries"

    def __str__(self) -> str:
        return self.host

    def clean(self) -> None:
        try:
            validate_registry_host(self.host)
        except ValueError as exc:
            raise ValidationError({"host": str(exc)}) from None

    @property
    def has_secret(self) -> bool:
        return bool(self.secret_encrypted)

    def set_secret(self, plaintext: str) -> None:
        self.secret_encrypted = encrypt_secret(plaintext) if plaintext else ""

    def get_secret(self) -> str:
        return decrypt_secret(self.secret_encrypted) if self.secret_encrypted else ""


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

    class Meta:
        ordering = ["host"]
        verbose_name_plural = "registry health"

    def __str__(self) -> str:
        return f"{self.host} ({'reachable' if self.reachable else 'unreachable'})"

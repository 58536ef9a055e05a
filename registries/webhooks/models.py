"""A registry's push webhook endpoint and the deliveries it accepted (imported by `registries.models`)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from registries.secrets import SealedSecret


class WebhookFamily(models.TextChoices):
    DISTRIBUTION = "distribution", "Distribution registry notifications (docker-registry, Harbor core, Nexus)"
    GITLAB = "gitlab", "GitLab container registry"
    DOCKERHUB = "dockerhub", "Docker Hub"
    HARBOR = "harbor", "Harbor project webhook"
    ACR = "acr", "Azure Container Registry webhook"
    GITHUB = "github", "GitHub Container Registry (package events)"
    QUAY = "quay", "Quay repository push"


class WebhookEndpoint(SealedSecret):
    """`/hooks/<token>/` for one registry. Only a SHA-256 of the token is stored: the URL is shown once,
    when it is made. `secret` is what the registry proves itself with besides the URL (a static
    Authorization header, or GitHub's HMAC key), encrypted like registry secrets and write-only."""

    registry = models.OneToOneField("registries.Registry", on_delete=models.CASCADE, related_name="webhook")
    family = models.CharField(max_length=16, choices=WebhookFamily.choices)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    token_hint = models.CharField(max_length=8, editable=False, help_text="The token's last characters.")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    token_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_accepted_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_refused_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_refused_reason = models.TextField(blank=True, editable=False)
    refused_count = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["registry__host"]
        verbose_name = "registry webhook"

    def __str__(self) -> str:
        return f"webhook of {self.registry.host} (…{self.token_hint})"


class WebhookDelivery(models.Model):
    """One accepted request: what it named, whether it queued a check or joined one already queued.

    `delivery_id` (the sender's id, or a hash of the body) is unique per endpoint, so a replayed request is
    refused; refused requests are counted on the endpoint and logged, not stored (a flood of them must not
    fill the database). Rows are kept `WEBHOOK_KEEP_DAYS`.
    """

    class State(models.TextChoices):
        QUEUED = "queued", "Check queued"
        COLLAPSED = "collapsed", "Joined a queued check"
        IGNORED = "ignored", "Nothing to check"
        CHECKED = "checked", "Checked"

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    delivery_id = models.CharField(max_length=200, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    pushes = models.JSONField(default=list, help_text="[repository, tag, digest] as the payload named them.")
    repositories = models.JSONField(default=list, help_text="Full names (host/path) this delivery checks.")
    state = models.CharField(max_length=16, choices=State.choices)
    note = models.TextField(blank=True)
    check_started_at = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    result = models.TextField(blank=True)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["endpoint", "delivery_id"], condition=~Q(delivery_id=""), name="one_delivery_per_sender_id"
            )
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} to {self.endpoint_id} ({self.state})"

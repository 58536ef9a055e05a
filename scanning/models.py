"""Scan reports, the pre-deploy gate's decisions, and operators' one-time allowances."""

from __future__ import annotations

import zlib

from django.conf import settings
from django.db import models

from scanning.report import KINDS, SEVERITIES, empty_counts


class ScanReport(models.Model):
    """One Trivy scan of one local image (by image ID), with its full JSON report stored compressed."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class Trigger(models.TextChoices):
        DEPLOY = "deploy", "After deploy"
        GATE = "gate", "Pre-deploy gate"
        MANUAL = "manual", "On demand"

    ACTIVE = (Status.PENDING, Status.RUNNING)

    service = models.ForeignKey(
        "deployments.Service", null=True, blank=True, on_delete=models.SET_NULL, related_name="scan_reports"
    )
    run = models.ForeignKey(
        "deployments.DeploymentRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="scan_reports"
    )
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    image_reference = models.CharField(max_length=512, blank=True)
    image_id = models.CharField(max_length=100, db_index=True)
    digest = models.CharField(max_length=100, blank=True, db_index=True)
    scanners = models.JSONField(default=list)
    severities = models.JSONField(default=list)

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True, help_text="Why the scan failed, in one line.")
    error_details = models.TextField(blank=True, help_text="The end of Trivy's log.")
    trivy_version = models.CharField(max_length=32, blank=True)
    db_updated_at = models.DateTimeField(null=True, blank=True, help_text="When Trivy's vulnerability DB was built.")
    counts = models.JSONField(default=empty_counts, blank=True)
    report_json = models.BinaryField(null=True, blank=True, editable=False, help_text="Trivy's JSON, zlib-compressed.")
    report_size = models.PositiveIntegerField(default=0, help_text="Uncompressed size of the JSON report in bytes.")
    reused_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["service", "-created_at"], name="scan_service_recent")]

    def __str__(self) -> str:
        return f"scan {self.pk} {self.image_reference or self.image_id[:19]} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    def store_report(self, raw: bytes) -> None:
        self.report_json = zlib.compress(raw, 6)
        self.report_size = len(raw)

    def report_bytes(self) -> bytes:
        return zlib.decompress(bytes(self.report_json)) if self.report_json else b""

    def total(self, kind: str) -> int:
        return sum((self.counts or {}).get(kind, {}).values())

    @property
    def severity_totals(self) -> dict[str, int]:
        """Findings of every kind, by severity (most severe first): what the chip shows."""
        counts = self.counts or {}
        return {sev: sum(counts.get(kind, {}).get(sev, 0) for kind in KINDS) for sev in SEVERITIES}

    @property
    def findings_total(self) -> int:
        return sum(self.severity_totals.values())

    @property
    def top_severity(self) -> str:
        return next((sev for sev, number in self.severity_totals.items() if number), "")


class ScanAllowance(models.Model):
    """An operator lets one blocked digest (or image ID) through the gate once."""

    service = models.ForeignKey("deployments.Service", on_delete=models.CASCADE, related_name="scan_allowances")
    digest = models.CharField(max_length=100, help_text="Registry digest or image ID (sha256:…).")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)
    used_by_run = models.ForeignKey(
        "deployments.DeploymentRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        state = "used" if self.used_at else "unused"
        return f"allow {self.digest[:19]} once for {self.service} ({state})"


class GateDecision(models.Model):
    """What the pre-deploy gate decided for one run, and the findings that decided it."""

    class Policy(models.TextChoices):
        ABSOLUTE = "absolute", "Absolute"
        DIFFERENTIAL = "differential", "Differential"

    run = models.OneToOneField("deployments.DeploymentRun", on_delete=models.CASCADE, related_name="scan_gate")
    service = models.ForeignKey("deployments.Service", on_delete=models.CASCADE, related_name="scan_gate_decisions")
    policy = models.CharField(max_length=16, choices=Policy.choices)
    severity = models.CharField(max_length=16)
    threshold = models.PositiveIntegerField(default=0)
    allowed = models.BooleanField()
    summary = models.TextField()
    findings = models.JSONField(default=list, blank=True, help_text="The findings that blocked it (capped).")
    findings_total = models.PositiveIntegerField(default=0)
    report = models.ForeignKey(ScanReport, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    baseline = models.ForeignKey(ScanReport, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    allowance = models.ForeignKey(ScanAllowance, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"gate for run {self.run_id}: {'allowed' if self.allowed else 'blocked'}"

"""Reads: the stored health results, for the banner and the /health/ page (no I/O beyond one query)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from dashboard.models import HealthCheck


@dataclass(frozen=True)
class HealthReport:
    checks: list[HealthCheck]
    checked_at: datetime | None
    stale: bool  # the worker has not refreshed them for several intervals: is it running?

    @property
    def failed(self) -> list[HealthCheck]:
        return [check for check in self.checks if check.failed]

    @property
    def needs_attention(self) -> bool:
        return bool(self.failed) or self.stale


def health_report() -> HealthReport:
    checks = list(HealthCheck.objects.all())
    checked_at = min((check.checked_at for check in checks), default=None)
    limit = timedelta(seconds=3 * settings.HEALTH_CHECK_INTERVAL + 60)
    stale = checked_at is not None and timezone.now() - checked_at > limit
    return HealthReport(checks=checks, checked_at=checked_at, stale=stale)

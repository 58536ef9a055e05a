"""Writes: store the latest results of the health checks (one row per check)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from dashboard.health.checks import CheckResult
from dashboard.models import HealthCheck


@transaction.atomic
def health_record(*, results: Iterable[CheckResult]) -> None:
    """Replace the stored results with `results` (checks that no longer exist are dropped)."""
    now = timezone.now()
    names = []
    for position, result in enumerate(results):
        names.append(result.name)
        HealthCheck.objects.update_or_create(
            name=result.name,
            defaults={
                "label": result.label,
                "status": result.status,
                "summary": result.summary,
                "fix": result.fix,
                "position": position,
                "checked_at": now,
            },
        )
    HealthCheck.objects.exclude(name__in=names).delete()

"""Registry host health: which hosts answered the last check, stored so that an outage is reported once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from registries.models import RegistryHealth


@dataclass(frozen=True)
class HealthChange:
    """A host went down (`reachable` False, with the error) or answered again."""

    host: str
    reachable: bool
    error: str


def registry_hosts_down() -> set[str]:
    """Hosts the last check could not reach (a cycle probes them with one request before the rest)."""
    return set(RegistryHealth.objects.filter(reachable=False).values_list("host", flat=True))


def registry_health_record(results: Mapping[str, str | None], *, now: datetime | None = None) -> list[HealthChange]:
    """Store what one check saw of each host (None: it answered; else why not); return the changes.

    A change is claimed with a conditional update, so two overlapping checks report it once.
    """
    now = now or timezone.now()
    if not results:
        return []
    stored = dict(RegistryHealth.objects.filter(host__in=results).values_list("host", "reachable"))
    if new := [host for host in results if host not in stored]:  # first seen: counted as reachable until now
        RegistryHealth.objects.bulk_create(
            [RegistryHealth(host=host, changed_at=now, checked_at=now) for host in new], ignore_conflicts=True
        )
    changes = []
    for host, error in results.items():
        reachable = error is None
        if stored.get(host, True) == reachable:
            continue
        claimed = RegistryHealth.objects.filter(host=host, reachable=not reachable).update(
            reachable=reachable, error=error or "", changed_at=now, checked_at=now
        )
        if claimed:
            changes.append(HealthChange(host, reachable, error or ""))
    unchanged = [host for host in results if stored.get(host, True) == (results[host] is None)]
    if unchanged:
        RegistryHealth.objects.filter(host__in=unchanged).update(checked_at=now)
    return changes

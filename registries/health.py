"""Registry host health: which hosts answered the last check, stored so that an outage is reported once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Case, DateTimeField, F, IntegerField, Value, When
from django.utils import timezone

from registries.models import RegistryHealth


@dataclass(frozen=True)
class HealthChange:
    """A host went down (`reachable` False, with the error) or answered again."""

    host: str
    reachable: bool
    error: str


@dataclass(frozen=True)
class HostStats:
    """What one check cycle cost and saw on one registry host (for /metrics)."""

    requests: int
    errors: int  # questions that failed after their retries
    quota: tuple[int, int | None] | None = None  # (remaining, limit) of a pull quota (Docker Hub), if announced


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


def registry_counters_add(stats: Mapping[str, HostStats], *, now: datetime | None = None) -> None:
    """Add one cycle's requests and errors to each host's counters, and store its quota: one query.

    The hosts' rows exist (`registry_health_record` creates them for every contacted host). Counters are
    added to in the database, so every worker's cycles count towards the same totals.
    """
    if not stats:
        return
    now = now or timezone.now()

    def per_host(values: Mapping[str, int]) -> Case:
        whens = [When(host=host, then=Value(value)) for host, value in values.items()]
        return Case(*whens, default=Value(0), output_field=IntegerField())

    fields: dict[str, object] = {
        "request_count": F("request_count") + per_host({host: s.requests for host, s in stats.items()}),
        "error_count": F("error_count") + per_host({host: s.errors for host, s in stats.items()}),
    }
    quotas = {host: s.quota for host, s in stats.items() if s.quota is not None}
    if quotas:
        fields["quota_remaining"] = _new_or_stored({host: q[0] for host, q in quotas.items()}, "quota_remaining")
        limits = {host: q[1] for host, q in quotas.items() if q[1] is not None}
        if limits:
            fields["quota_limit"] = _new_or_stored(limits, "quota_limit")
        fields["quota_checked_at"] = Case(
            *(When(host=host, then=Value(now)) for host in quotas),
            default=F("quota_checked_at"),
            output_field=DateTimeField(),
        )
    RegistryHealth.objects.filter(host__in=list(stats)).update(**fields)


def _new_or_stored(values: Mapping[str, int], field: str) -> Case:
    """The new value for the hosts in `values`, the stored one for the others."""
    whens = [When(host=host, then=Value(value)) for host, value in values.items()]
    return Case(*whens, default=F(field), output_field=IntegerField())

"""One check cycle: discover services, ask their registries, decide, and queue deploys.

The registry questions are asked concurrently (`deployments.registry_checks`); their answers come back here,
to the one thread that touches the database. A decision is valid only for the service state it was made
from: a deploy is claimed with the generation, facts and policy the cycle read, and dropped if any changed
since (a rollback, a manual deploy, an admin edit) — the next cycle decides again from fresh state.

Database cost: a constant number of queries per cycle whatever the number of services (bulk reads and
writes, only changed rows written), plus a few per deploy queued.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from deployments import docker
from deployments.discovery import discover_fleet
from deployments.dispatch import enqueue_deploy
from deployments.engine.backoff import deploy_backoff
from deployments.engine.request import DeployConflict, DeployRequestError, StaleDecision, deployment_request
from deployments.events import EventKind, emit
from deployments.models import CheckCycle, DeploymentRun, Service, UpdateMode
from deployments.policy import safe_schedule, service_policy
from deployments.registry_checks import RegistryCheck, ServiceOutcome, check_services
from registries.health import HostStats, registry_counters_add, registry_health_record, registry_hosts_down
from registries.seen import seen_tags_load, seen_tags_record
from registries.tags import PolicyError
from registries.tags.windows import describe_opening

__all__ = ["ServiceOutcome", "check_services", "prune_cycles", "run_cycle"]

logger = logging.getLogger(__name__)
CYCLE_HISTORY_DAYS = 7
HEARTBEAT_SECONDS = 15  # a running cycle records that it is alive (and renews its lease) this often
CYCLE_STALE_AFTER = timedelta(minutes=2)  # a running cycle silent for this long lost its worker
RESULT_FIELDS = ["last_check_error", "available_tag", "available_digest", "check_explanation"]
# What a deploy decision depends on besides the registry's answer. A claim re-reads these under a row lock.
DECISION_FIELDS = (
    "deploy_generation",
    "current_tag",
    "current_digest",
    "image",
    "repository",
    "is_running",
    "labels",
    "update_mode",
    "pinned_tag",
    "ignored_tags",
    "ignored_digests",
    "policy_overrides",
    "automation_paused",
)
ID_CHUNK = 900
State = DeploymentRun.State


def run_cycle(
    *,
    service_key: str | None = None,
    repositories: Collection[str] | None = None,
    dry_run: bool = False,
    on_tick: Callable[[], None] | None = None,
    service_id: int | None = None,
) -> tuple[CheckCycle, list[ServiceOutcome]]:
    """Run one check over every running service of every online host (or one, by `PROJECT/SERVICE` or
    `service_id`, or those whose image is in `repositories`, normalised `registry/path` names as a registry
    push webhook names them); the cycle always ends. Registries are asked once per repository across all
    hosts.

    `on_tick` is called every few seconds while it runs (the periodic task renews its lease there).
    """
    cycle = CheckCycle.objects.create(heartbeat_at=timezone.now())
    _close_abandoned_cycles(cycle)
    pushed = frozenset(r.lower() for r in repositories) if repositories is not None else None
    scope = _Scope(service_key, pushed, service_id)
    try:
        outcomes = _run(cycle, scope, dry_run, _Heartbeat(cycle, on_tick))
    except docker.DockerError as exc:  # the engine is down or refused: a failed cycle, not a crash
        logger.warning("check cycle %s failed: %s", cycle.pk, exc)
        _finish(cycle, CheckCycle.State.FAILED, errors=[f"discovery failed: {exc}"])
        return cycle, []
    except BaseException as exc:
        _finish(cycle, CheckCycle.State.FAILED, errors=[f"unexpected error: {exc.__class__.__name__}: {exc}"])
        raise
    return cycle, outcomes


def prune_cycles(keep_days: int = CYCLE_HISTORY_DAYS) -> int:
    """Check cycles are bookkeeping: keep a week of them (deploy runs and revisions are kept forever)."""
    deleted, _ = CheckCycle.objects.filter(started_at__lt=timezone.now() - timedelta(days=keep_days)).delete()
    return deleted


@dataclass(frozen=True)
class _Scope:
    """Which services a cycle checks: all, one (`PROJECT/SERVICE` or its id), or those on some repositories."""

    service_key: str | None = None
    repositories: frozenset[str] | None = None
    service_id: int | None = None


def _run(cycle: CheckCycle, scope: _Scope, dry_run: bool, heartbeat: _Heartbeat) -> list[ServiceOutcome]:
    discovery = discover_fleet()
    heartbeat.beat()
    services = _services_to_check(discovery.services, discovery.stale, scope)
    now = timezone.now()
    decisions = _Decisions(cycle, services)
    first_seen = seen_tags_load(_min_age_repositories(services))
    check = RegistryCheck(services, hosts_down=registry_hosts_down(), first_seen=first_seen, now=now)
    outcomes: list[ServiceOutcome] = []
    for batch in check.run(on_tick=heartbeat.beat):  # deploys are claimed as each repository answers
        for outcome in batch:
            decisions.act(outcome, dry_run=dry_run)
        outcomes.extend(batch)
    down = _report_host_health(check.host_results(), check.host_stats())
    seen_tags_record(check.unseen_tags(), now=now)
    _save_outcomes(outcomes)
    outcomes.sort(key=lambda o: (o.service.project.name, o.service.name))
    _finish(
        cycle,
        CheckCycle.State.SUCCEEDED,
        services_checked=len(outcomes),
        repositories_checked=len({o.service.repository for o in outcomes}),
        registry_requests=check.request_count,
        updates_found=sum(1 for o in outcomes if o.has_update),
        deploys_queued=cycle.deploys_queued,
        errors=discovery.errors + _cycle_errors(outcomes, down),
        services_skipped=sum(discovery.hosts_offline.values()),
        hosts_offline=sorted(discovery.hosts_offline),
    )
    return outcomes


def _services_to_check(services: list[Service], stale: set[int], scope: _Scope) -> list[Service]:
    """Running services with a repository; gone, stopped and just-claimed ones are not checked."""
    chosen = [s for s in services if s.is_running and s.repository and not s.is_gone and s.pk not in stale]
    if scope.service_key:
        project, _, name = scope.service_key.partition("/")
        chosen = [s for s in chosen if (s.project.name, s.name) == (project, name)]
    if scope.repositories is not None:
        chosen = [s for s in chosen if s.repository.lower() in scope.repositories]
    if scope.service_id is not None:
        chosen = [s for s in chosen if s.pk == scope.service_id]
    return chosen


class _Heartbeat:
    """Marks the cycle alive and calls `on_tick`, at most every HEARTBEAT_SECONDS."""

    def __init__(self, cycle: CheckCycle, on_tick: Callable[[], None] | None) -> None:
        self.cycle = cycle
        self.on_tick = on_tick
        self.last = time.monotonic()

    def beat(self) -> None:
        if time.monotonic() - self.last < HEARTBEAT_SECONDS:
            return
        self.last = time.monotonic()
        CheckCycle.objects.filter(pk=self.cycle.pk, state=CheckCycle.State.RUNNING).update(heartbeat_at=timezone.now())
        if self.on_tick:
            self.on_tick()


def _close_abandoned_cycles(current: CheckCycle) -> None:
    """Cycles whose worker died mid-way end failed, so none stays `running` forever."""
    cutoff = timezone.now() - CYCLE_STALE_AFTER
    CheckCycle.objects.filter(state=CheckCycle.State.RUNNING).exclude(pk=current.pk).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    ).update(
        state=CheckCycle.State.FAILED,
        finished_at=timezone.now(),
        errors=["abandoned: the process running this check stopped before it finished"],
    )


def _finish(cycle: CheckCycle, state: str, **fields: object) -> None:
    fields.update(state=state, finished_at=timezone.now())
    try:
        CheckCycle.objects.filter(pk=cycle.pk).update(**fields)
    except Exception:  # e.g. the database itself failed: the next cycle closes this one as abandoned
        logger.exception("could not record the end of check cycle %s", cycle.pk)
        return
    for name, value in fields.items():
        setattr(cycle, name, value)
    emit(EventKind.CHECK_FINISHED, cycle_id=cycle.pk, updates_found=cycle.updates_found, errors=len(cycle.errors))


def _min_age_repositories(services: list[Service]) -> set[str]:
    """Repositories of services with a minimum image age: their tags' first-seen times are kept."""
    repositories = set()
    for service in services:
        try:
            if service_policy(service).min_age is not None:
                repositories.add(service.repository)
        except PolicyError:
            continue  # the check reports it on the service
    return repositories


def _report_host_health(results: dict[str, str | None], stats: dict[str, HostStats]) -> dict[str, str]:
    """Store which registry hosts answered and what they cost; an outage is reported when it starts and
    when it ends, once."""
    for change in registry_health_record(results):
        kind = EventKind.REGISTRY_RECOVERED if change.reachable else EventKind.REGISTRY_UNREACHABLE
        emit(kind, host=change.host, error=change.error)
    registry_counters_add(stats)
    return {host: error for host, error in results.items() if error is not None}


def _cycle_errors(outcomes: list[ServiceOutcome], down: dict[str, str]) -> list[str]:
    """One line per unreachable host (not one per service on it), then each other service's error."""
    lines = []
    for error in down.values():
        count = sum(1 for o in outcomes if o.error == error)
        lines.append(f"{error} ({count} service{'s' if count != 1 else ''} not checked)")
    down_errors = set(down.values())
    return lines + [f"{o.service}: {o.error}" for o in outcomes if o.error and o.error not in down_errors]


def _save_outcomes(outcomes: list[ServiceOutcome]) -> None:
    """Write the check results that changed, in bulk; announce the changes a user sees."""
    now = timezone.now()
    changed, visible = [], []
    for outcome in outcomes:
        service = outcome.service
        before = (service.last_check_error, service.available_tag, service.available_digest)
        after = (outcome.error, outcome.available_tag, outcome.available_digest)
        if before != after or outcome.explanation != service.check_explanation:
            service.last_check_error, service.available_tag, service.available_digest = after
            service.check_explanation = outcome.explanation
            changed.append(service)
        if before != after or service.last_checked_at is None:  # "Not checked yet" → a result is news too
            visible.append(service.pk)
        service.last_checked_at = now
    if changed:
        Service.objects.bulk_update(changed, RESULT_FIELDS)
    ids = [o.service.pk for o in outcomes]
    for start in range(0, len(ids), ID_CHUNK):
        Service.objects.filter(pk__in=ids[start : start + ID_CHUNK]).update(last_checked_at=now)
    for service_id in visible:
        emit(EventKind.SERVICE_CHANGED, service_id=service_id)


class _Decisions:
    """Turns outcomes into actions: deploy, or say why not. Knows what each service looked like when read."""

    def __init__(self, cycle: CheckCycle, services: list[Service]) -> None:
        self.cycle = cycle
        self.cycle.deploys_queued = 0
        self.read = {service.pk: _decision_facts(service) for service in services}
        self.failed = _failed_targets([service.pk for service in services])

    def act(self, outcome: ServiceOutcome, *, dry_run: bool) -> None:
        if not outcome.has_update:
            outcome.action = "up to date" if not outcome.error else ""
            return
        blocker = self._blocker(outcome)
        if dry_run:
            outcome.action = f"would deploy {outcome.available_tag}" if blocker is None else ""
            return
        if blocker:
            outcome.action = f"update available, not deployed: {blocker}"
            if outcome.update_mode != UpdateMode.AUTO:
                emit(
                    EventKind.UPDATE_AVAILABLE,
                    service_id=outcome.service.pk,
                    current_tag=outcome.service.current_tag,
                    available_tag=outcome.available_tag,
                    available_digest=outcome.available_digest,
                    update_mode=outcome.update_mode,
                )
            return
        self._deploy(outcome)

    def _blocker(self, outcome: ServiceOutcome) -> str | None:
        """Why an available update is not deployed automatically (None: deploy it)."""
        service = outcome.service
        if outcome.update_mode != UpdateMode.AUTO:
            return f"update mode is {outcome.update_mode}"
        if service.automation_paused:
            return "automation paused after a failed restore"
        if service.active_run_id:
            return "a deploy is in progress"
        if backing_off := deploy_backoff(service, outcome.available_tag, outcome.available_digest):
            return backing_off  # a failure before replace (pull, auth, disk): retried later, file untouched
        # Like Argo CD, never retry automatically an image that already failed once it ran; a new digest
        # for a floating tag, or a manual deploy, is a fresh attempt. Registry or pull errors do retry.
        # A version tag's digest is not asked at check time: any failed run of that tag counts.
        for digest in self.failed.get((service.pk, outcome.available_tag), ()):
            if not digest or not outcome.available_digest or digest == outcome.available_digest:
                return f"{outcome.available_tag} failed before; deploy it manually to retry"
        return self._window_closed(service)

    def _window_closed(self, service: Service) -> str | None:
        """Outside its maintenance window an update waits: no run; `window_checks` checks again at the opening."""
        schedule = safe_schedule(service, service_policy(service))  # the policy was valid: the check ranked it
        if schedule is None:
            return "the project's or the global maintenance window cannot be read"
        now = timezone.now()  # when the deploy would be claimed, not when the cycle started
        if schedule.is_open(now):
            return None
        return f"waiting for the maintenance window (opens {describe_opening(schedule.next_open(now), now)})"

    def _deploy(self, outcome: ServiceOutcome) -> None:
        service = outcome.service
        read = self.read[service.pk]
        _announce_update(outcome)
        try:
            with transaction.atomic():
                now = Service.objects.select_for_update().filter(pk=service.pk).values(*DECISION_FIELDS).first()
                if now != read:
                    raise StaleDecision(f"{service}: changed since it was checked; the next check decides again")
                run = deployment_request(
                    service=service,
                    tag=outcome.available_tag,
                    trigger=DeploymentRun.Trigger.AUTO,
                    digest=outcome.available_digest,
                    expected_generation=read["deploy_generation"],
                )
                enqueue_deploy(run.pk, host=service.project.host.name)
        except DeployConflict as exc:
            outcome.action = str(exc)
            return
        except DeployRequestError as exc:  # e.g. a tag the ranking let through but the OCI grammar refuses
            outcome.error = str(exc)
            return
        self.cycle.deploys_queued += 1
        outcome.action = f"queued run {run.pk}: deploy {outcome.available_tag}"


def _announce_update(outcome: ServiceOutcome) -> None:
    """Record the update found before claiming its deploy, so that a watching board shows "Update available"
    and then "Deploying…" in that order. One write per update found; the rest of the results go in bulk."""
    service = outcome.service
    found = {"available_tag": outcome.available_tag, "available_digest": outcome.available_digest}
    if (service.available_tag, service.available_digest, service.last_check_error) == (*found.values(), ""):
        return
    Service.objects.filter(pk=service.pk).update(last_check_error="", **found)
    service.available_tag, service.available_digest, service.last_check_error = *found.values(), ""
    emit(EventKind.SERVICE_CHANGED, service_id=service.pk)


def _decision_facts(service: Service) -> dict[str, object]:
    return {name: getattr(service, name) for name in DECISION_FIELDS}


def _failed_targets(service_ids: list[int]) -> dict[tuple[int, str], list[str]]:
    """(service, tag) → digests of runs that failed after their image ran, in one query."""
    failed: dict[tuple[int, str], list[str]] = {}
    rows = DeploymentRun.objects.filter(
        service_id__in=service_ids,
        state=State.FAILED,
        failed_state__in=[State.SCANNING, State.REPLACING, State.VERIFYING],
    ).values_list("service_id", "to_tag", "to_digest")
    for service_id, tag, digest in rows:
        failed.setdefault((service_id, tag), []).append(digest)
    return failed

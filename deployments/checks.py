"""One check cycle: discover services, ask each registry once per repository, decide and queue deploys.

Request budget per cycle: one tag list per distinct repository (shared by every service on it, only
when some service needs it), one manifest HEAD per distinct repository:tag whose digest matters
(floating tags, and each chosen update), and push times only for the few tags ranking asks for.
"""

from __future__ import annotations

import logging
from collections import OrderedDict, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from deployments.discovery import discover_services
from deployments.dispatch import enqueue_deploy
from deployments.engine.backoff import deploy_backoff
from deployments.engine.request import DeployConflict, DeployRequestError, deployment_request
from deployments.events import EventKind, emit
from deployments.models import CheckCycle, DeploymentRun, Service, UpdateMode
from deployments.policy import service_policy
from registries.client import RegistryClient, RegistryError, RegistryNotFound
from registries.reference import parse_reference
from registries.secrets import CredentialError
from registries.services import registry_client_for
from registries.tags import Candidate, Decision, PolicyError, TagPolicy, rank

logger = logging.getLogger(__name__)
PUSH_TIME_LOOKUPS_MAX = 10
CREATED_CACHE_SIZE = 4096
_CREATED_BY_DIGEST: OrderedDict[str, datetime | None] = OrderedDict()  # a digest's content never changes
EXPLANATION_REJECTED_MAX = 200
CYCLE_HISTORY_DAYS = 7  # a repository can have 10,000 tags; the stored "why" keeps the first 200


@dataclass
class ServiceOutcome:
    service: Service
    available_tag: str = ""
    available_digest: str = ""
    explanation: dict = field(default_factory=dict)
    error: str = ""
    action: str = ""
    update_mode: str = UpdateMode.AUTO

    @property
    def has_update(self) -> bool:
        service = self.service
        if self.error:
            return False
        if self.available_tag and self.available_tag != service.current_tag:
            return True
        return bool(self.available_digest and self.available_digest != service.current_digest)


class RepositoryCheck:
    """Everything one cycle asks one repository, each question asked at most once."""

    def __init__(self, client: RegistryClient, repository: str) -> None:
        self.client = client
        self.repository = repository
        self._tags: list[str] | None = None
        self._digests: dict[str, str] = {}

    def tags(self) -> list[str]:
        if self._tags is None:
            self._tags = self.client.list_tags(self.repository)
        return self._tags

    def digest(self, tag: str) -> str:
        if tag not in self._digests:
            self._digests[tag] = self.client.head_digest(self.repository, tag)
        return self._digests[tag]

    def push_times(self, tags: list[str]) -> dict[str, datetime | None]:
        """Image `created` times, cached by digest: a later cycle pays one HEAD per tag, not three requests."""
        times: dict[str, datetime | None] = {}
        for tag in tags[:PUSH_TIME_LOOKUPS_MAX]:
            try:
                digest = self.digest(tag)
            except RegistryNotFound:
                times[tag] = None
                continue
            if digest not in _CREATED_BY_DIGEST:
                _CREATED_BY_DIGEST[digest] = self.client.image_created(self.repository, digest)
                while len(_CREATED_BY_DIGEST) > CREATED_CACHE_SIZE:
                    _CREATED_BY_DIGEST.popitem(last=False)
            times[tag] = _CREATED_BY_DIGEST[digest]
        return times


def run_cycle(*, service_key: str | None = None, dry_run: bool = False) -> tuple[CheckCycle, list[ServiceOutcome]]:
    """Run one check over every running service (or one, by `PROJECT/SERVICE`)."""
    cycle = CheckCycle.objects.create()
    discovery = discover_services()
    outcomes, request_count = check_services(_services_to_check(service_key))
    for outcome in outcomes:
        _save_outcome(outcome)
        if not dry_run:
            _maybe_deploy(outcome, cycle)
        elif outcome.has_update:
            outcome.action = f"would deploy {outcome.available_tag}" if _deploy_blocker(outcome) is None else ""
    cycle.services_checked = len(outcomes)
    cycle.repositories_checked = len({o.service.repository for o in outcomes})
    cycle.registry_requests = request_count
    cycle.updates_found = sum(1 for o in outcomes if o.has_update)
    cycle.errors = discovery.errors + [f"{o.service}: {o.error}" for o in outcomes if o.error]
    cycle.state = CheckCycle.State.SUCCEEDED
    cycle.finished_at = timezone.now()
    cycle.save()
    emit(EventKind.CHECK_FINISHED, cycle_id=cycle.pk, updates_found=cycle.updates_found, errors=len(cycle.errors))
    return cycle, outcomes


def prune_cycles(keep_days: int = CYCLE_HISTORY_DAYS) -> int:
    """Check cycles are bookkeeping: keep a week of them (deploy runs and revisions are kept forever)."""
    deleted, _ = CheckCycle.objects.filter(started_at__lt=timezone.now() - timedelta(days=keep_days)).delete()
    return deleted


def check_services(services: list[Service]) -> tuple[list[ServiceOutcome], int]:
    """Ask the registries about `services`, each question once; return outcomes and the request count."""
    clients: dict[str, RegistryClient] = {}
    outcomes: list[ServiceOutcome] = []
    for repository, group in _by_repository(services).items():
        outcomes.extend(_check_repository(repository, group, clients))
    return outcomes, sum(client.request_count for client in clients.values())


def _services_to_check(service_key: str | None) -> list[Service]:
    services = Service.objects.select_related("project", "active_run").filter(is_running=True).exclude(repository="")
    if service_key:
        project, _, name = service_key.partition("/")
        services = services.filter(project__name=project, name=name)
    return list(services)


def _by_repository(services: list[Service]) -> dict[str, list[Service]]:
    groups: dict[str, list[Service]] = defaultdict(list)
    for service in services:
        groups[service.repository].append(service)
    return groups


def _check_repository(
    repository: str, services: list[Service], clients: dict[str, RegistryClient]
) -> list[ServiceOutcome]:
    reference = parse_reference(repository)
    try:
        if reference.registry not in clients:
            clients[reference.registry] = registry_client_for(reference.registry, reference.api_host)
    except CredentialError as exc:
        return [ServiceOutcome(service, error=str(exc)) for service in services]
    check = RepositoryCheck(clients[reference.registry], reference.repository)
    return [_check_service(service, check) for service in services]


def _check_service(service: Service, check: RepositoryCheck) -> ServiceOutcome:
    outcome = ServiceOutcome(service)
    if "@" in service.image:
        outcome.explanation = {"reason": "the image is pinned by digest in the compose file; not updated"}
        return outcome
    try:
        policy = service_policy(service)
        outcome.update_mode = policy.update_mode
        decision = rank(service.current_tag, [], policy)
        if decision.tracks_digest:
            _check_digest(outcome, check)
        else:
            _check_tags(outcome, check, policy)
    except PolicyError as exc:
        outcome.error = f"invalid update policy: {exc}"
    except RegistryError as exc:
        outcome.error = str(exc)
    return outcome


def _check_digest(outcome: ServiceOutcome, check: RepositoryCheck) -> None:
    service = outcome.service
    digest = check.digest(service.current_tag)
    outcome.available_tag = service.current_tag
    if digest in service.ignored_digests:
        outcome.explanation = {"tracks_digest": True, "reason": f"{digest} is ignored (rolled back from)"}
        return
    outcome.available_digest = digest
    changed = digest != service.current_digest
    reason = f"{service.current_tag} now points to {digest}" if changed else f"{service.current_tag} is unchanged"
    outcome.explanation = {"tracks_digest": True, "current": service.current_tag, "digest": digest, "reason": reason}


def _check_tags(outcome: ServiceOutcome, check: RepositoryCheck, policy: TagPolicy) -> None:
    service = outcome.service
    tags = check.tags()
    decision: Decision = rank(service.current_tag, tags, policy)
    if decision.needs_push_time:
        times = check.push_times(decision.needs_push_time)
        # The current tag's own time orders it against shas; it may be missing from the listing.
        names = tags if service.current_tag in tags else [*tags, service.current_tag]
        decision = rank(service.current_tag, [Candidate(tag, times.get(tag)) for tag in names], policy)
    outcome.explanation = decision.to_dict(max_rejected=EXPLANATION_REJECTED_MAX)
    outcome.available_tag = decision.chosen or service.current_tag
    if decision.chosen:
        outcome.available_digest = check.digest(decision.chosen)


def _save_outcome(outcome: ServiceOutcome) -> None:
    service = outcome.service
    # Only a changed result is news; "last checked" itself is announced once per cycle (CHECK_FINISHED).
    result_before = (service.last_check_error, service.available_tag, service.available_digest)
    Service.objects.filter(pk=service.pk).update(
        last_checked_at=timezone.now(),
        last_check_error=outcome.error,
        available_tag=outcome.available_tag,
        available_digest=outcome.available_digest,
        check_explanation=outcome.explanation,
    )
    service.refresh_from_db()
    if result_before != (service.last_check_error, service.available_tag, service.available_digest):
        emit(EventKind.SERVICE_CHANGED, service_id=service.pk)


def _deploy_blocker(outcome: ServiceOutcome) -> str | None:
    """Why an available update is not deployed automatically (None: deploy it)."""
    service = outcome.service
    if outcome.update_mode != UpdateMode.AUTO:
        return f"update mode is {outcome.update_mode}"
    if service.automation_paused:
        return "automation paused after a failed restore"
    if service.active_run_id:
        return "a deploy is in progress"
    if backing_off := deploy_backoff(service, outcome.available_tag, outcome.available_digest):
        return backing_off
    # Like Argo CD, never retry automatically an image that already failed once it ran; a new
    # digest for the tag, or a manual deploy, is a fresh attempt. Registry or pull errors do retry.
    failed_before = DeploymentRun.objects.filter(
        service=service,
        state=DeploymentRun.State.FAILED,
        to_tag=outcome.available_tag,
        failed_state__in=[DeploymentRun.State.REPLACING, DeploymentRun.State.VERIFYING],
    ).filter(Q(to_digest=outcome.available_digest) | Q(to_digest=""))
    if failed_before.exists():
        return f"{outcome.available_tag} failed before; deploy it manually to retry"
    return None


def _maybe_deploy(outcome: ServiceOutcome, cycle: CheckCycle) -> None:
    if not outcome.has_update:
        outcome.action = "up to date" if not outcome.error else ""
        return
    blocker = _deploy_blocker(outcome)
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
    try:
        with transaction.atomic():
            run = deployment_request(
                service=outcome.service,
                tag=outcome.available_tag,
                trigger=DeploymentRun.Trigger.AUTO,
                digest=outcome.available_digest,
            )
            enqueue_deploy(run.pk)
    except DeployConflict as exc:
        outcome.action = str(exc)
        return
    except DeployRequestError as exc:  # e.g. a tag the ranking let through but the OCI grammar refuses
        outcome.error = str(exc)
        return
    cycle.deploys_queued += 1
    outcome.action = f"queued run {run.pk}: deploy {outcome.available_tag}"

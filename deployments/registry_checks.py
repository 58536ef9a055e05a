"""The registry half of a check cycle: each repository asked once, concurrently, bounded per registry host.

Request budget per cycle: one tag list per versioned repository and one manifest HEAD per floating
repository:tag, shared by every service using them; push times only for the few tags ranking asks for. The
digest of a chosen version tag is resolved by the deploy's pull, not here, except for an update that waits
for someone's approval (notify/manual mode): one HEAD, so that the approval names one image.

Per registry host and cycle: at most `PER_HOST_CONCURRENCY` requests in flight (one client per thread: a
client is not thread-safe), 429/5xx retried within `RETRY_BUDGET_PER_HOST`, and the first refused or
timed-out connection marks the host down, so its other repositories fail at once instead of each waiting
for its own timeouts. A host the last cycle found down is probed with one repository before the others.

Nothing here touches the database after construction: the cycle loads services and credentials first and
writes what comes back (`deployments.checks`).
"""

from __future__ import annotations

import functools
import itertools
import logging
import os
import random
import threading
import time
from collections import OrderedDict, defaultdict, deque
from collections.abc import Callable, Collection, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from django.conf import settings
from django.utils import timezone

from deployments.models import Service, UpdateMode
from deployments.policy import service_policy
from registries.client import (
    RegistryBadCredentials,
    RegistryClient,
    RegistryError,
    RegistryNotFound,
    RegistryRateLimited,
    RegistryTokenExpired,
    RegistryUnavailable,
)
from registries.health import HostStats
from registries.reference import InvalidReference, parse_reference
from registries.secrets import CredentialError
from registries.services import RegistryAccess
from registries.tags import Candidate, Decision, PolicyError, TagPolicy, rank

logger = logging.getLogger(__name__)
T = TypeVar("T")

PER_HOST_CONCURRENCY = 8
MAX_THREADS = 16  # across hosts
RETRY_BUDGET_PER_HOST = 6  # retries of 429/5xx answers per host and cycle; the next cycle asks again
RETRY_DELAY_MAX = 10.0  # a longer Retry-After gives up until the next cycle
TICK_SECONDS = 1.0  # how often the caller's `on_tick` runs while requests are in flight
PUSH_TIME_LOOKUPS_MAX = 10
CREATED_CACHE_SIZE = 4096
EXPLANATION_REJECTED_MAX = 200  # a repository can have 10,000 tags; the stored "why" keeps the first 200
_CREATED_BY_DIGEST: OrderedDict[str, datetime | None] = OrderedDict()  # a digest's content never changes
_CREATED_LOCK = threading.Lock()


@dataclass
class ServiceOutcome:
    """What one check found for one service (`action` is filled in by the cycle)."""

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


class HostUnreachable(RegistryUnavailable):
    """The host refused, timed out or failed TLS earlier in this cycle: not asked again until the next one."""


class HostGate:
    """One registry host during one cycle: a client per thread, a retry budget, and whether it is down."""

    def __init__(self, host: str, factory: Callable[[], RegistryClient]) -> None:
        self.host = host
        self._factory = factory
        self._local = threading.local()
        self._lock = threading.Lock()
        self._clients: list[RegistryClient] = []
        self._budget = RETRY_BUDGET_PER_HOST
        self.provider_requests = 0  # to a provider's own API (tag lists with push times), not the registry's
        self.errors = 0  # questions that failed in the end (after their retries): for /metrics
        self.down: HostUnreachable | None = None
        self.answered = False
        self.succeeded = False  # at least one question got an answer (not an error)
        self.refused: RegistryError | None = None  # the stored credentials were refused (or are missing)

    @property
    def failure(self) -> str | None:
        """Why the host cannot be used this cycle (down, or every answer refused the credentials), else None."""
        if self.down is not None and not self.answered:
            return str(self.down)
        if self.refused is not None and not self.succeeded:
            return str(self.refused)  # the services' own error: the cycle reports it once for the host
        return None

    @property
    def request_count(self) -> int:
        return self.provider_requests + sum(client.request_count for client in self._clients)

    @property
    def contacted(self) -> bool:
        return bool(self._clients)

    @property
    def quota(self) -> tuple[int, int | None] | None:
        """(remaining, limit) of a pull quota the registry announced (Docker Hub), the lowest seen this cycle."""
        seen = [client.rate_limit for client in self._clients if client.rate_limit is not None]
        if not seen:
            return None
        remaining, limit, _ = min(seen, key=lambda quota: quota[0])
        return remaining, limit

    def call(self, ask: Callable[[RegistryClient], T]) -> T:
        """`ask(client)`, retrying 429/5xx within the budget; fails at once while the host is down."""
        for attempt in itertools.count():
            if self.down is not None:
                raise self.down
            try:
                result = ask(self._client())
            except (RegistryRateLimited, RegistryUnavailable) as exc:
                if exc.status is None:  # no HTTP answer at all: nobody to ask for the rest of this cycle
                    self._count_error()
                    raise self._mark_down(exc) from None
                self.answered = True
                delay = self._retry_delay(exc, attempt)
                if delay is None:
                    self._count_error()
                    raise
                time.sleep(delay)
            except (RegistryBadCredentials, RegistryTokenExpired) as exc:
                self.answered = True
                self.refused = exc
                raise
            except RegistryError:
                self.answered = True
                self._count_error()
                raise
            else:
                self.answered = self.succeeded = True
                return result
        raise AssertionError("unreachable")

    def close(self) -> None:
        for client in self._clients:
            client.close()

    def _count_error(self) -> None:
        with self._lock:
            self.errors += 1

    def _client(self) -> RegistryClient:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = self._factory()
            with self._lock:
                self._clients.append(client)
        return client

    def _mark_down(self, exc: RegistryError) -> HostUnreachable:
        with self._lock:
            if self.down is None:
                self.down = HostUnreachable(str(exc), host=self.host)
            return self.down

    def _retry_delay(self, exc: RegistryError, attempt: int) -> float | None:
        if attempt >= settings.REGISTRY_RETRIES:
            return None
        retry_after = exc.retry_after if isinstance(exc, RegistryRateLimited) else None
        delay = min(0.5 * 2**attempt, 8.0) * random.uniform(0.5, 1.0) if retry_after is None else retry_after  # noqa: S311
        if delay > RETRY_DELAY_MAX:
            return None
        with self._lock:
            if self._budget <= 0:
                return None
            self._budget -= 1
        return delay


def _done(value: T) -> Future:
    answer: Future = Future()
    answer.set_result(value)
    return answer


class RepositoryCheck:
    """Everything one cycle asks one repository, each question asked at most once.

    Shared by the threads checking the repository's services (grouped by current tag, so that a `latest`
    HEAD and a tag list go out together): the first thread to ask a question asks it, the others wait.
    """

    def __init__(
        self,
        gate: HostGate,
        repository: str,
        access: RegistryAccess | None = None,
        first_seen: dict[str, datetime] | None = None,
        now: datetime | None = None,
        key: str = "",
    ) -> None:
        self.gate = gate
        self.repository = repository
        self.key = key or repository  # the normalised registry/repository services name
        self.access = access
        self._lock = threading.Lock()
        self._answers: dict[tuple[str, str], Future] = {}
        self._listed_times: dict[str, datetime | None] = {}
        # Minimum image age: when each tag was first listed (None: no service of this repository has one).
        self.first_seen = first_seen
        self.now = now or timezone.now()
        self.unseen: list[str] = []  # listed this cycle for the first time; the cycle records them

    def tags(self) -> list[str]:
        return self._once(("tags", ""), self._list_and_note_tags)

    def ages(self) -> dict[str, tuple[datetime, str]]:
        """Since when each listed tag exists: the registry's push time, else when the updater first saw it."""
        seen = self.first_seen or {}
        ages: dict[str, tuple[datetime, str]] = {tag: (seen.get(tag, self.now), "first seen") for tag in self.tags()}
        ages.update((tag, (pushed, "pushed")) for tag, pushed in self._listed_times.items() if pushed is not None)
        return ages

    def _list_and_note_tags(self, client: RegistryClient) -> list[str]:
        tags = self._list_tags(client)
        if self.first_seen is not None:
            self.unseen = [tag for tag in tags if tag not in self.first_seen]
        return tags

    def _list_tags(self, client: RegistryClient) -> list[str]:
        """The provider's tag list (with push times and digests where its API has them), else the registry's."""
        if self.access is None:
            return client.list_tags(self.repository)
        listing = self.access.tag_listing(self.repository, client)
        with self._lock:
            self.gate.provider_requests += listing.request_count
            self._listed_times = dict(listing.push_times)
            for tag, digest in listing.digests.items():
                self._answers.setdefault(("digest", tag), _done(digest))
        return listing.tags

    def digest(self, tag: str) -> str:
        return self._once(("digest", tag), lambda client: client.head_digest(self.repository, tag))

    def known_digest(self, tag: str) -> str:
        """The digest of `tag` if this cycle already has it (free), else ""."""
        answer = self._answers.get(("digest", tag))
        return answer.result() if answer is not None and answer.done() and not answer.exception() else ""

    def _once(self, question: tuple[str, str], ask: Callable[[RegistryClient], T]) -> T:
        with self._lock:
            answer = self._answers.get(question)
            mine = answer is None
            if mine:
                answer = self._answers[question] = Future()
        if mine:
            try:
                answer.set_result(self.gate.call(ask))
            except BaseException as exc:
                answer.set_exception(exc)
        return answer.result()

    def push_times(self, tags: list[str]) -> dict[str, datetime | None]:
        """Image `created` times, cached by digest: a later cycle pays one HEAD per tag, not three requests."""
        times = {tag: self._listed_times[tag] for tag in tags if self._listed_times.get(tag) is not None}
        for tag in [tag for tag in tags if tag not in times][:PUSH_TIME_LOOKUPS_MAX]:
            try:
                digest = self.digest(tag)
            except RegistryNotFound:
                times[tag] = None
                continue
            with _CREATED_LOCK:
                cached = digest in _CREATED_BY_DIGEST
                created = _CREATED_BY_DIGEST.get(digest)
            if not cached:
                created = self.gate.call(lambda client, digest=digest: client.image_created(self.repository, digest))
                with _CREATED_LOCK:
                    _CREATED_BY_DIGEST[digest] = created
                    while len(_CREATED_BY_DIGEST) > CREATED_CACHE_SIZE:
                        _CREATED_BY_DIGEST.popitem(last=False)
            times[tag] = created
        return times


@dataclass
class _HostWork:
    gate: HostGate
    access: RegistryAccess | None = None
    queue: deque[tuple[RepositoryCheck, list[Service]]] = field(default_factory=deque)
    in_flight: int = 0
    probing: bool = False  # the host was down last cycle: one repository first, the others if it answers

    @property
    def room(self) -> int:
        return (1 if self.probing else PER_HOST_CONCURRENCY) - self.in_flight


class RegistryCheck:
    """One cycle's registry questions about `services`; `run()` yields outcomes as each group of services is done.

    Credentials are read here, in the caller's thread; the worker threads never touch the database.
    """

    def __init__(
        self,
        services: list[Service],
        *,
        hosts_down: Collection[str] = (),
        first_seen: Mapping[str, dict[str, datetime]] | None = None,
        now: datetime | None = None,
    ) -> None:
        self._hosts: dict[str, _HostWork] = {}
        self._answered_without_asking: list[list[ServiceOutcome]] = []
        self._checks: list[RepositoryCheck] = []
        now = now or timezone.now()
        for repository, group in _by_repository(services).items():
            try:
                reference = parse_reference(repository)
                work = self._host_work(reference.registry, reference.api_host)
            except (InvalidReference, CredentialError) as exc:
                self._answered_without_asking.append([ServiceOutcome(service, error=str(exc)) for service in group])
                continue
            seen = (first_seen or {}).get(repository)
            check = RepositoryCheck(
                work.gate, reference.repository, work.access, first_seen=seen, now=now, key=repository
            )
            self._checks.append(check)
            for same_tag in _by_current_tag(group):
                work.queue.append((check, same_tag))
        for host, work in self._hosts.items():
            work.probing = host in hosts_down

    @property
    def request_count(self) -> int:
        return sum(work.gate.request_count for work in self._hosts.values())

    def unseen_tags(self) -> dict[str, list[str]]:
        """Normalised repository -> tags listed for the first time this cycle (repositories with a minimum age)."""
        return {check.key: check.unseen for check in self._checks if check.unseen}

    def host_stats(self) -> dict[str, HostStats]:
        """What each contacted host cost and answered this cycle, for /metrics."""
        return {
            host: HostStats(work.gate.request_count, work.gate.errors, work.gate.quota)
            for host, work in self._hosts.items()
            if work.gate.contacted
        }

    def host_results(self) -> dict[str, str | None]:
        """Each host this cycle contacted: None if it answered, else why it could not be reached or used
        (no answer at all, or its every answer refused the stored credentials)."""
        return {host: work.gate.failure for host, work in self._hosts.items() if work.gate.contacted}

    def run(self, *, on_tick: Callable[[], None] | None = None) -> Iterator[list[ServiceOutcome]]:
        yield from self._answered_without_asking
        pending: dict[Future[list[ServiceOutcome]], _HostWork] = {}
        try:
            for work in self._hosts.values():
                self._fill(work, pending)
            while pending:
                done, _ = wait(pending, timeout=TICK_SECONDS, return_when=FIRST_COMPLETED)
                if on_tick:
                    on_tick()
                for future in done:
                    work = pending.pop(future)
                    work.in_flight -= 1
                    yield future.result()
                    if work.gate.down is not None:  # the rest of this host fails fast, without a thread
                        while work.queue:
                            _, group = work.queue.popleft()
                            yield [ServiceOutcome(service, error=str(work.gate.down)) for service in group]
                    work.probing = False  # it answered: ask the others
                    self._fill(work, pending)
        finally:
            for future in pending:
                future.cancel()
            wait(pending)
            for work in self._hosts.values():
                work.gate.close()

    def _host_work(self, registry: str, api_host: str | None) -> _HostWork:
        if registry not in self._hosts:
            access = RegistryAccess(registry, api_host)
            factory = functools.partial(access.client, retries=0)  # retries: HostGate's budget
            self._hosts[registry] = _HostWork(HostGate(registry, factory), access)
        return self._hosts[registry]

    @staticmethod
    def _fill(work: _HostWork, pending: dict) -> None:
        while work.queue and work.room > 0:
            check, group = work.queue.popleft()
            pending[_executor().submit(check_group, check, group)] = work
            work.in_flight += 1


_EXECUTOR: ThreadPoolExecutor | None = None
_EXECUTOR_PID = 0


def _executor() -> ThreadPoolExecutor:
    """Threads shared by every cycle of this process (starting threads each cycle costs more than a check)."""
    global _EXECUTOR, _EXECUTOR_PID
    if _EXECUTOR is None or os.getpid() != _EXECUTOR_PID:  # a forked worker child starts its own
        _EXECUTOR = ThreadPoolExecutor(max_workers=MAX_THREADS, thread_name_prefix="registry-check")
        _EXECUTOR_PID = os.getpid()
    return _EXECUTOR


def check_services(services: list[Service], *, hosts_down: Collection[str] = ()) -> tuple[list[ServiceOutcome], int]:
    """Ask the registries about `services`, each question once; return outcomes and the request count."""
    check = RegistryCheck(services, hosts_down=hosts_down)
    outcomes = [outcome for batch in check.run() for outcome in batch]
    return outcomes, check.request_count


def check_group(check: RepositoryCheck, services: list[Service]) -> list[ServiceOutcome]:
    """Check services of one repository (in a worker thread: no database access here)."""
    outcomes = []
    for service in services:
        try:
            outcomes.append(_check_service(service, check))
        except Exception as exc:  # a bug must cost one service its check, not the cycle
            logger.exception("checking %s failed", service)
            outcomes.append(ServiceOutcome(service, error=f"unexpected error: {exc.__class__.__name__}: {exc}"))
    return outcomes


def _by_repository(services: list[Service]) -> dict[str, list[Service]]:
    groups: dict[str, list[Service]] = defaultdict(list)
    for service in services:
        groups[service.repository].append(service)
    return groups


def _by_current_tag(services: list[Service]) -> list[list[Service]]:
    groups: dict[str, list[Service]] = defaultdict(list)
    for service in services:
        groups[service.current_tag].append(service)
    return list(groups.values())


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
    ages = check.ages() if policy.min_age is not None else None
    decision: Decision = rank(service.current_tag, tags, policy, ages=ages, now=check.now)
    if decision.needs_push_time:
        times = check.push_times(decision.needs_push_time)
        # The current tag's own time orders it against shas; it may be missing from the listing.
        names = tags if service.current_tag in tags else [*tags, service.current_tag]
        candidates = [Candidate(tag, times.get(tag)) for tag in names]
        decision = rank(service.current_tag, candidates, policy, ages=ages, now=check.now)
    outcome.explanation = decision.to_dict(max_rejected=EXPLANATION_REJECTED_MAX)
    outcome.available_tag = decision.chosen or service.current_tag
    if not decision.chosen:
        return
    if policy.update_mode != UpdateMode.AUTO:
        # Someone approves this update: they approve one image, so its digest is asked now (one HEAD per
        # repository:tag, free of Docker Hub's pull quota) and the deploy must pull exactly that.
        outcome.available_digest = check.digest(decision.chosen)
        return
    # An automatic deploy's digest is what its pull gets; it is only known here if push times asked for it.
    outcome.available_digest = check.known_digest(decision.chosen)

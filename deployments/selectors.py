"""Reads: what the status page and commands show, with explicit select_related."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from deployments.models import CheckCycle, DeploymentRun, DockerHost, Revision, Service, UpdateMode
from deployments.policy import safe_schedule, service_policy
from registries.tags import PolicyError
from registries.tags.windows import describe_opening

REVISIONS_SHOWN = 5


class ServiceNotFound(LookupError):
    pass


@dataclass(frozen=True)
class ServiceStatus:
    service: Service
    # Synced · Update available · Waiting for window · Deploying… · Blocked · Failed · Gone · Host offline · Unknown
    label: str
    detail: str
    last_run: DeploymentRun | None

    @property
    def badge(self) -> str:
        """CSS class of the state badge."""
        return BADGES.get(self.label, "unknown")


BADGES = {
    "Synced": "synced",
    "Update available": "update",
    "Waiting for window": "window",
    "Deploying…": "deploying",
    "Blocked": "blocked",
    "Failed": "failed",
    "Gone": "gone",
    "Host offline": "offline",
}
RUN_LIST_DEFERRED = ("log", "file_backup")  # large: the status page shows neither


def service_by_key(key: str) -> Service:
    """Find a service by `PROJECT/SERVICE`, or `HOST/PROJECT/SERVICE` when the project name is on several hosts."""
    parts = key.split("/")
    if len(parts) not in (2, 3) or not all(parts):
        raise ServiceNotFound(f"expected PROJECT/SERVICE or HOST/PROJECT/SERVICE, got {key!r}")
    *host, project, name = parts
    found = Service.objects.select_related("project__host", "active_run").filter(project__name=project, name=name)
    if host:
        found = found.filter(project__host__name=host[0])
    matches = list(found[:10])
    if not matches:
        raise ServiceNotFound(f"no service {key!r} has been discovered")
    if len(matches) > 1:
        names = ", ".join(sorted(f"{s.project.host.name}/{project}/{name}" for s in matches))
        raise ServiceNotFound(f"{key!r} exists on several hosts: name one of {names}")
    return matches[0]


def service_status(service: Service, last_run: DeploymentRun | None) -> ServiceStatus:
    """Derive the one state a user sees from the stored facts (nothing is stored twice)."""
    host = service.project.host
    if host.is_offline:
        waiting = f"; the deploy to {service.active_run.to_tag} waits for it" if service.active_run_id else ""
        seen = f" since {host.last_heartbeat_at:%Y-%m-%d %H:%M:%S}" if host.last_heartbeat_at else ""
        return ServiceStatus(service, "Host offline", f"agent of {host} silent{seen}; not checked{waiting}", last_run)
    if service.active_run_id:
        return ServiceStatus(service, "Deploying…", f"to {service.active_run.to_tag}", last_run)
    if service.is_gone:
        since = f" since {service.last_seen_at:%Y-%m-%d %H:%M}" if service.last_seen_at else ""
        return ServiceStatus(service, "Gone", f"no container left{since}; not checked", last_run)
    if service.automation_paused:
        return ServiceStatus(service, "Failed", service.automation_paused, last_run)
    if last_run and last_run.state == DeploymentRun.State.FAILED and last_run.to_tag == service.available_tag:
        if last_run.failed_state == DeploymentRun.State.SCANNING:  # the scan gate refused it: scanning.selectors
            return ServiceStatus(service, "Blocked", last_run.error.splitlines()[0] if last_run.error else "", last_run)
        return ServiceStatus(service, "Failed", last_run.error.splitlines()[0] if last_run.error else "", last_run)
    if service.last_check_error:
        return ServiceStatus(service, "Unknown", service.last_check_error, last_run)
    if not service.last_checked_at:
        return ServiceStatus(service, "Unknown", "not checked yet", last_run)
    update = (service.available_tag and service.available_tag != service.current_tag) or (
        service.available_digest and service.available_digest != service.current_digest
    )
    if update:
        mode = _update_mode(service)
        target = service.available_tag if service.available_tag != service.current_tag else "new digest"
        if mode != UpdateMode.AUTO:
            return ServiceStatus(
                service, "Update available", f"{target} (update mode {mode}: deploy it manually)", last_run
            )
        if opens := _window_opens(service):
            return ServiceStatus(service, "Waiting for window", f"{target} (opens {opens})", last_run)
        return ServiceStatus(service, "Update available", target, last_run)
    return ServiceStatus(service, "Synced", "", last_run)


def _window_opens(service: Service) -> str:
    """'02:00' when the service's maintenance window is closed now (when it opens), else ''."""
    try:
        schedule = safe_schedule(service, service_policy(service))
    except PolicyError:
        return ""
    now = timezone.now()
    if schedule is None or schedule.is_open(now):
        return ""
    return describe_opening(schedule.next_open(now), now)


def _update_mode(service: Service) -> str:
    try:
        return service_policy(service).update_mode
    except PolicyError:
        return UpdateMode.MANUAL


def service_status_list() -> list[ServiceStatus]:
    """Every service with its state; only each one's last run is loaded, without logs or backups."""
    last_run_id = DeploymentRun.objects.filter(service=OuterRef("pk")).order_by("-created_at", "-id").values("pk")[:1]
    services = list(
        Service.objects.select_related("project__host", "active_run")
        .defer(*(f"active_run__{name}" for name in RUN_LIST_DEFERRED))
        .annotate(last_run_id=Subquery(last_run_id))
        .order_by("project__name", "name")
    )
    wanted = [service.last_run_id for service in services if service.last_run_id]
    last_runs = DeploymentRun.objects.defer(*RUN_LIST_DEFERRED).in_bulk(wanted)
    return [service_status(service, last_runs.get(service.last_run_id)) for service in services]


def recent_revisions(service: Service, limit: int = REVISIONS_SHOWN) -> QuerySet[Revision]:
    return service.revisions.select_related("user", "run").order_by("-created_at", "-id")[:limit]


def last_check_cycle() -> CheckCycle | None:
    return CheckCycle.objects.order_by("-started_at", "-id").first()


# --- The dashboard board ------------------------------------------------------------------------
# The board shows one state per service: `service_status` above, refined for approvals and for
# policy changes made since the last check. New states (Gone, Blocked) added to `service_status`
# flow through; `STATE_STYLES` gives each a colour key, an icon and whether it needs attention.


@dataclass(frozen=True)
class StateStyle:
    key: str  # CSS modifier and filter value
    icon: str  # id of the SVG symbol in the page's sprite
    attention: bool  # counted in the title and favicon


STATE_STYLES: dict[str, StateStyle] = {
    "Synced": StateStyle("synced", "check", False),
    "Update available": StateStyle("update", "arrow-up", True),
    "Awaiting approval": StateStyle("approval", "hand", True),
    "Waiting for window": StateStyle("window", "clock", False),
    "Deploying…": StateStyle("deploying", "spinner", False),
    "Failed": StateStyle("failed", "cross", True),
    "Blocked": StateStyle("blocked", "shield", True),
    "Blocked by scan": StateStyle("blocked", "shield", True),
    "Gone": StateStyle("gone", "ghost", True),
    "Host offline": StateStyle("offline", "wifi-off", True),
    "Unknown": StateStyle("unknown", "question", False),
}
UNKNOWN_STYLE = STATE_STYLES["Unknown"]
STATE_ORDER = [
    "Failed",
    "Blocked",
    "Host offline",
    "Awaiting approval",
    "Update available",
    "Waiting for window",
    "Deploying…",
    "Gone",
    "Unknown",
    "Synced",
]


@dataclass(frozen=True)
class BoardRow:
    """One service on the board: its derived state and what the row shows."""

    service: Service
    label: str
    detail: str
    last_run: DeploymentRun | None

    @property
    def style(self) -> StateStyle:
        return STATE_STYLES.get(self.label, UNKNOWN_STYLE)

    @property
    def registry(self) -> str:
        return registry_of(self.service.repository)

    @property
    def awaiting_approval(self) -> bool:
        return self.label == "Awaiting approval"


@dataclass(frozen=True)
class BoardFilters:
    query: str = ""
    state: str = ""  # a StateStyle.key
    project: str = ""
    registry: str = ""
    host: str = ""

    @property
    def active(self) -> bool:
        return bool(self.query or self.state or self.project or self.registry or self.host)


@dataclass
class HostGroup:
    """One Docker host on the board: its agent's state and engine, its counters, its projects' rows."""

    host: DockerHost
    groups: list[tuple[str, list[BoardRow]]]  # (project name, rows) shown, projects sorted by name
    counts: dict[str, int]  # StateStyle.key -> services of this host in that state
    total: int
    attention: int
    alone: bool = False  # the only host: the board shows no host heading (a single host stays as simple)

    @property
    def liveness(self) -> str:
        return self.host.liveness()

    @property
    def headed(self) -> bool:
        return not self.alone or self.offline

    @property
    def offline(self) -> bool:
        return self.liveness == DockerHost.Liveness.OFFLINE


@dataclass
class Board:
    groups: list[tuple[str, list[BoardRow]]]  # (project name, rows) shown, by host then project name
    counts: dict[str, int]  # StateStyle.key -> services in that state, over all services
    total: int
    attention: int
    shown: int
    projects: list[str]
    registries: list[str]
    hosts: list[HostGroup] = field(default_factory=list)  # every host with services (filtered by host)
    host_names: list[str] = field(default_factory=list)


def registry_of(repository: str) -> str:
    """The registry host of a normalised repository (`docker.io/library/nginx` → `docker.io`)."""
    return repository.split("/", 1)[0] if "/" in repository else ""


def board_status(service: Service, last_run: DeploymentRun | None) -> BoardRow:
    """The state the board shows: "Awaiting approval" for updates a person must approve, and an
    update the user dismissed, pinned away or ignored since the last check is no longer offered."""
    status = service_status(service, last_run)
    label, detail = status.label, status.detail
    if label in ("Update available", "Waiting for window"):
        if _offer_withdrawn(service):
            label, detail = "Synced", "update declined; re-checking"
        else:
            mode = _update_mode(service)
            target = service.available_tag if service.available_tag != service.current_tag else "new digest"
            if mode != UpdateMode.AUTO:
                label, detail = "Awaiting approval", f"{target} ({mode} mode)"
    return BoardRow(service, label, detail, last_run)


def _offer_withdrawn(service: Service) -> bool:
    if service.available_tag != service.current_tag:
        if service.available_tag in service.ignored_tags:
            return True
        return bool(service.pinned_tag and service.available_tag != service.pinned_tag)
    return service.available_digest in service.ignored_digests


LAST_RUN_FIELDS = ("id", "state", "to_tag", "error")
# Large fields no row shows: the stored ranking explanation, and the active run's log and backup.
BOARD_DEFERRED = (
    "check_explanation",
    "discovery_error",
    "project__config_files",
    "project__working_dir",
    "active_run__log",
    "active_run__file_backup",
    "active_run__from_container_ids",
)


def board_services() -> QuerySet[Service]:
    """Every service with what its row needs and the id of its latest run, in one query."""
    latest = DeploymentRun.objects.filter(service=OuterRef("pk")).order_by("-created_at", "-id").values("pk")[:1]
    return (
        Service.objects.select_related("project__host", "active_run")
        .defer(*BOARD_DEFERRED)
        .annotate(last_run_id=Subquery(latest))
        .order_by("project__host__name", "project__name", "name")
    )


def board_rows(services: QuerySet[Service]) -> list[BoardRow]:
    """Derive each service's state, reading all their latest runs in one more query.

    The runs are selected by a subquery rather than a list of ids, so the query count stays the same
    at any size (SQLite splits long `IN` lists into batches).
    """
    rows = list(services)
    latest = services.values("last_run_id")
    runs = {run.pk: run for run in DeploymentRun.objects.filter(pk__in=latest).only(*LAST_RUN_FIELDS)}
    return [board_status(service, runs.get(getattr(service, "last_run_id", None))) for service in rows]


def board(filters: BoardFilters = BoardFilters()) -> Board:
    """The whole board in three queries, whatever the number of services (or of hosts)."""
    rows = board_rows(board_services())
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.style.key] = counts.get(row.style.key, 0) + 1
    projects = sorted({row.service.project.name for row in rows})
    registries = sorted({row.registry for row in rows} - {""})
    by_host: dict[int, HostGroup] = {}
    for row in rows:
        host = row.service.project.host
        group = by_host.setdefault(host.pk, HostGroup(host=host, groups=[], counts={}, total=0, attention=0))
        group.counts[row.style.key] = group.counts.get(row.style.key, 0) + 1
        group.total += 1
        group.attention += row.style.attention
    shown = [row for row in rows if _matches(row, filters)]
    for row in shown:
        groups = by_host[row.service.project.host_id].groups
        if not groups or groups[-1][0] != row.service.project.name:
            groups.append((row.service.project.name, []))
        groups[-1][1].append(row)
    for group in by_host.values():
        group.alone = len(by_host) == 1
    host_groups = [group for group in by_host.values() if not filters.host or group.host.name == filters.host]
    return Board(
        groups=[group for host in host_groups for group in host.groups],
        counts=counts,
        total=len(rows),
        attention=sum(1 for row in rows if row.style.attention),
        shown=len(shown),
        projects=projects,
        registries=registries,
        hosts=host_groups,
        host_names=[group.host.name for group in by_host.values()],
    )


def board_row(service_id: int) -> BoardRow | None:
    rows = board_rows(board_services().filter(pk=service_id))
    return rows[0] if rows else None


def _matches(row: BoardRow, filters: BoardFilters) -> bool:
    service = row.service
    if filters.state and row.style.key != filters.state:
        return False
    if filters.project and service.project.name != filters.project:
        return False
    if filters.host and service.project.host.name != filters.host:
        return False
    if filters.registry and row.registry != filters.registry:
        return False
    if filters.query:
        needle = filters.query.lower()
        haystack = (
            f"{service.project.host.name}/{service.project.name}/{service.name} {service.repository} "
            f"{service.current_tag}"
        ).lower()
        return needle in haystack
    return True

"""What runs and how it changes: Compose projects, their services, deploy attempts and revisions."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

DEFAULT_HOST_NAME = "local"


class DockerHost(models.Model):
    """A Docker engine and its agent: the Celery worker that consumes `host.<name>` with that engine's
    DOCKER_HOST. Discovery, deploys, restores and scans of its projects run there only (the files live
    there). The agent writes its heartbeat and engine facts; everything else reads them."""

    class Liveness(models.TextChoices):
        ONLINE = "online", "Online"
        OFFLINE = "offline", "Host offline"
        UNKNOWN = "unknown", "No agent has reported yet"

    name = models.CharField(max_length=63, unique=True, validators=[RegexValidator(rf"^{settings.HOST_NAME_PATTERN}$")])
    docker_host = models.CharField(max_length=512, blank=True, help_text="DOCKER_HOST as its agent sees it.")
    engine_version = models.CharField(max_length=64, blank=True)
    api_version = models.CharField(max_length=16, blank=True)
    compose_version = models.CharField(max_length=64, blank=True)
    engine_id = models.CharField(max_length=128, blank=True, help_text="The engine's own ID (docker info).")
    agent = models.CharField(max_length=255, blank=True, help_text="The worker that reported last.")
    last_heartbeat_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, help_text="What the agent could not do with its engine.")
    reported_offline = models.BooleanField(default=False, editable=False)  # the last transition announced
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def queue(self) -> str:
        return host_queue(self.name)

    def liveness(self, now: datetime | None = None) -> str:
        """Online while heartbeats arrive; offline after HOST_MISSED_HEARTBEATS missed ones."""
        if self.last_heartbeat_at is None:
            return self.Liveness.UNKNOWN
        silent = (now or timezone.now()) - self.last_heartbeat_at
        limit = timedelta(seconds=settings.HOST_HEARTBEAT_INTERVAL * settings.HOST_MISSED_HEARTBEATS)
        return self.Liveness.OFFLINE if silent > limit else self.Liveness.ONLINE

    @property
    def is_offline(self) -> bool:
        return self.liveness() == self.Liveness.OFFLINE


def host_queue(name: str) -> str:
    """The Celery queue of one host's agent."""
    return f"host.{name}"


def local_host_name() -> str:
    """The host this process's DOCKER_HOST reaches ("local" when it has none, for rows made before fleets)."""
    return settings.LOCAL_HOST or DEFAULT_HOST_NAME


def local_host_id() -> int:
    """Default host of a project created without one: a single-host install never names its host."""
    host, _ = DockerHost.objects.get_or_create(name=local_host_name())
    return host.pk


class ComposeProject(models.Model):
    """A Compose project found on a Docker engine through its containers' labels; unique per host."""

    host = models.ForeignKey(DockerHost, on_delete=models.PROTECT, related_name="projects", default=local_host_id)
    name = models.CharField(max_length=255)
    working_dir = models.CharField(max_length=4096)
    config_files = models.JSONField(default=list, help_text="Compose files in `-f` order, absolute paths.")
    maintenance_window = models.CharField(
        max_length=500,
        blank=True,
        help_text="When automatic deploys of its services may run: 'CRON DURATION [TIME_ZONE]', e.g. "
        "'0 2 * * * 2h Europe/Paris', several separated by ';', or 'always'. Blank: UPDATER_WINDOW. "
        "A service's updater.window label wins.",
    )
    last_seen_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # The project's deploy claim: its services share the Compose file and `.env`, so one deploy at a
    # time. Taken with a conditional update, released in the transaction that finishes the run.
    deploy_run = models.ForeignKey(
        "DeploymentRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["host", "name"], name="unique_project_per_host")]

    def __str__(self) -> str:
        return self.name


class UpdateMode(models.TextChoices):
    FROM_LABELS = "", "As the updater.mode label says (default: auto)"
    AUTO = "auto", "Deploy automatically"
    NOTIFY = "notify", "Notify only"
    MANUAL = "manual", "Manual only"


class Service(models.Model):
    """One Compose service: what it runs now, what the registry offers, and its update policy.

    `active_run` doubles as the database lock: a deploy claims the service by setting it with a
    conditional update, and `deploy_generation` is the fencing token every later write checks.
    """

    project = models.ForeignKey(ComposeProject, on_delete=models.CASCADE, related_name="services")
    name = models.CharField(max_length=255)

    image = models.CharField(max_length=512, help_text="Image reference as the container runs it.")
    repository = models.CharField(
        max_length=512, help_text="Normalised registry/repository, e.g. docker.io/library/nginx"
    )
    current_tag = models.CharField(max_length=128, blank=True)
    current_digest = models.CharField(max_length=100, blank=True)
    current_image_id = models.CharField(max_length=100, blank=True)
    container_state = models.CharField(max_length=32, blank=True)
    container_health = models.CharField(max_length=32, blank=True)
    is_running = models.BooleanField(default=False)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    discovery_error = models.TextField(blank=True)

    # Policy (the tag-ranking issue extends this; labels on the service can also set it).
    update_mode = models.CharField(max_length=16, choices=UpdateMode.choices, default="", blank=True)
    pinned_tag = models.CharField(max_length=128, blank=True, help_text="Stay on this tag; no updates.")
    ignored_tags = models.JSONField(default=list, blank=True, help_text="Tags never deployed automatically.")
    ignored_digests = models.JSONField(
        default=list, blank=True, help_text="Digests of a mutable tag never deployed automatically (set by rollback)."
    )
    policy_overrides = models.JSONField(
        default=dict, blank=True, help_text="Tag-policy settings that override the service's updater.* labels."
    )
    labels = models.JSONField(default=dict, blank=True, help_text="The container's updater.* labels.")

    # Result of the last registry check.
    last_checked_at = models.DateTimeField(null=True, blank=True)
    last_check_error = models.TextField(blank=True)
    available_tag = models.CharField(max_length=128, blank=True)
    available_digest = models.CharField(max_length=100, blank=True)
    check_explanation = models.JSONField(default=dict, blank=True)

    # Deploy lock and fencing token.
    active_run = models.ForeignKey("DeploymentRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    deploy_generation = models.PositiveBigIntegerField(default=0)
    automation_paused = models.TextField(
        blank=True, help_text="Set when restoring a failed deploy itself failed; automatic deploys stop until cleared."
    )

    # Backoff after deploys that failed before replacing anything (pull, edit, Compose errors): the
    # check does not retry the same tag/digest before `backoff_until` (see engine/backoff.py).
    backoff_tag = models.CharField(max_length=128, blank=True, editable=False)
    backoff_digest = models.CharField(max_length=100, blank=True, editable=False)
    backoff_failures = models.PositiveIntegerField(default=0, editable=False)
    backoff_until = models.DateTimeField(null=True, blank=True, editable=False)
    backoff_reason = models.TextField(blank=True, editable=False)

    class Meta:
        ordering = ["project__name", "name"]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="unique_service_per_project")]
        permissions = [("operate_service", "Can check, deploy, approve, roll back, pin and ignore tags")]

    def __str__(self) -> str:
        return f"{self.project.name}/{self.name}"

    GONE = "missing"  # `container_state` once no container of the service is left on the engine

    @property
    def is_gone(self) -> bool:
        """Every container is gone: not checked any more, history kept until an admin removes it."""
        return self.container_state == self.GONE


class RunState(models.TextChoices):
    PENDING = "pending", "Pending"
    EDITING = "editing", "Editing compose file"
    PULLING = "pulling", "Pulling image"
    SCANNING = "scanning", "Scanning image"
    REPLACING = "replacing", "Recreating container"
    VERIFYING = "verifying", "Verifying"
    RESTORING = "restoring", "Restoring previous version"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


# Unfinished states: the partial unique index below is built from this tuple, so a state added here is
# covered by the one-active-run guarantee (and `makemigrations --check` asks for the migration).
ACTIVE_RUN_STATES = (
    RunState.PENDING,
    RunState.EDITING,
    RunState.PULLING,
    RunState.SCANNING,
    RunState.REPLACING,
    RunState.VERIFYING,
    RunState.RESTORING,
)
FINAL_RUN_STATES = (RunState.SUCCEEDED, RunState.FAILED, RunState.CANCELLED)


def one_active_run_constraint(states: tuple[str, ...] = ACTIVE_RUN_STATES) -> models.UniqueConstraint:
    """At most one run per service in any of `states`, enforced by the database itself."""
    return models.UniqueConstraint(
        fields=["service"],
        condition=Q(state__in=[str(state) for state in states]),
        name="one_active_run_per_service",
    )


class DeploymentRun(models.Model):
    """One deploy attempt. It moves through explicit states; each step is persisted before it acts.

    Writes are conditional on (`state`, `generation`), so a stale or duplicated task changes nothing.
    """

    State = RunState
    ACTIVE_STATES = ACTIVE_RUN_STATES
    FINAL_STATES = FINAL_RUN_STATES

    class Trigger(models.TextChoices):
        AUTO = "auto", "Automatic"
        MANUAL = "manual", "Manual"
        ROLLBACK = "rollback", "Rollback"

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="runs")
    generation = models.PositiveBigIntegerField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)

    from_tag = models.CharField(max_length=128, blank=True)
    from_digest = models.CharField(max_length=100, blank=True)
    from_image_id = models.CharField(max_length=100, blank=True)
    from_container_ids = models.JSONField(default=list, blank=True)
    to_tag = models.CharField(max_length=128)
    to_digest = models.CharField(max_length=100, blank=True, help_text="Digest the check saw; the pulled one wins.")
    to_image_id = models.CharField(max_length=100, blank=True)
    rollback_of = models.ForeignKey(
        "Revision", null=True, blank=True, on_delete=models.SET_NULL, related_name="rollback_runs"
    )

    file_backup = models.TextField(
        blank=True,
        editable=False,
        help_text="The compose/.env edit (contents before and after), encrypted: .env files often hold secrets.",
    )
    log = models.TextField(blank=True)
    error = models.TextField(blank=True)
    failed_state = models.CharField(max_length=16, blank=True, help_text="The step that was running when it failed.")
    restored = models.BooleanField(default=False, help_text="A failed run put the previous version back.")
    ignore_tags_on_success = models.JSONField(
        default=list, blank=True, help_text="A rollback's tags to ignore once it succeeds (decided before it acts)."
    )
    verified_at = models.DateTimeField(
        null=True, blank=True, help_text="Verification passed; recovery records this run instead of undoing it."
    )
    requeue_count = models.PositiveSmallIntegerField(
        default=0, help_text="Times the reconciler re-queued this pending run without a worker starting it."
    )

    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [one_active_run_constraint()]

    def __str__(self) -> str:
        return f"run {self.pk} {self.service} → {self.to_tag} ({self.state})"

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE_STATES


class Revision(models.Model):
    """What a service ran from a point in time: recorded on discovery and after every verified deploy."""

    class Trigger(models.TextChoices):
        DISCOVERED = "discovered", "Discovered"
        AUTO = "auto", "Automatic"
        MANUAL = "manual", "Manual"
        ROLLBACK = "rollback", "Rollback"

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="revisions")
    tag = models.CharField(max_length=128)
    digest = models.CharField(max_length=100, blank=True)
    image_id = models.CharField(max_length=100, blank=True)
    trigger = models.CharField(max_length=16, choices=Trigger.choices)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    run = models.OneToOneField(DeploymentRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="revision")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.service} {self.tag} ({self.trigger})"


class CheckCycle(models.Model):
    """One registry check over all services: what it looked at and what it cost."""

    class State(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    state = models.CharField(max_length=16, choices=State.choices, default=State.RUNNING)
    services_checked = models.PositiveIntegerField(default=0)
    repositories_checked = models.PositiveIntegerField(default=0)
    registry_requests = models.PositiveIntegerField(default=0)
    updates_found = models.PositiveIntegerField(default=0)
    deploys_queued = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    services_skipped = models.PositiveIntegerField(default=0, help_text="Services of offline hosts, not checked.")
    hosts_offline = models.JSONField(default=list, blank=True, help_text="Hosts skipped: their agent was silent.")
    started_at = models.DateTimeField(auto_now_add=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="A running cycle whose heartbeat stops was abandoned (its worker died)."
    )
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"check {self.pk} at {self.started_at:%Y-%m-%d %H:%M:%S} ({self.state})"


class Activity(models.Model):
    """The audit log: every user action and every automatic deploy, rollback and check failure.

    Rows are written by `deployments.services` (user actions, in the action's own transaction) and
    by `deployments.audit` (what the updater did by itself, from domain events). Never edited.
    """

    class Outcome(models.TextChoices):
        OK = "ok", "Done"
        FAILED = "failed", "Failed"
        REFUSED = "refused", "Refused"

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_name = models.CharField(max_length=150, help_text="The user's name at the time, or 'updater'.")
    action = models.CharField(max_length=32, db_index=True)
    service = models.ForeignKey(Service, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    target = models.CharField(max_length=512, help_text="PROJECT/SERVICE (kept if the service goes).")
    run = models.ForeignKey(DeploymentRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    detail = models.TextField(blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.OK)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "activity"

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.action} {self.target} ({self.outcome})"

    @property
    def action_label(self) -> str:
        return ACTION_LABELS.get(self.action, self.action.replace("_", " "))


ACTION_LABELS = {
    "check_now": "asked for a check of",
    "deploy": "deployed a tag to",
    "approve": "approved an update of",
    "dismiss": "dismissed an update of",
    "rollback": "rolled back",
    "pin": "pinned",
    "unpin": "unpinned",
    "ignore_tag": "ignored a tag of",
    "unignore_tag": "un-ignored a tag of",
    "ignore_digest": "ignored a digest of",
    "unignore_digest": "un-ignored a digest of",
    "deployed": "deployed",
    "rolled_back": "rolled back",
    "deploy_failed": "failed to deploy",
    "automation_paused": "paused automation of",
    "blocked_by_scan": "blocked by scan:",
    "check_failed": "could not check",
    "check_recovered": "can check again",
    "scan": "asked for a scan of",
    "scan_allow": "let a blocked image through the scan gate for",
}


class RunStep(models.Model):
    """When a run entered a state: recorded from RUN_CHANGED events so the run page shows step timings."""

    run = models.ForeignKey(DeploymentRun, on_delete=models.CASCADE, related_name="steps")
    state = models.CharField(max_length=16, choices=DeploymentRun.State.choices)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        constraints = [models.UniqueConstraint(fields=["run", "state"], name="one_step_row_per_run_state")]

    def __str__(self) -> str:
        return f"run {self.run_id} {self.state} at {self.at:%H:%M:%S}"

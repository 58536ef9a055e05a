"""What the API returns and accepts. Field lists are module constants so a new field (a host) is one line."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from dashboard import selectors as pages
from deployments.models import CheckCycle, ComposeProject, DeploymentRun, Revision, Service
from deployments.policy import service_policy, service_schedule
from deployments.selectors import BoardRow
from registries.tags import PolicyError
from registries.tags.windows import WindowError
from scanning.models import ScanReport

PROJECT_FIELDS = (
    "id",
    "host",
    "name",
    "working_dir",
    "config_files",
    "maintenance_window",
    "last_seen_at",
    "created_at",
)
SERVICE_FIELDS = (
    "id",
    "project",
    "name",
    "image",
    "repository",
    "current_tag",
    "current_digest",
    "available_tag",
    "available_digest",
    "state",
    "container_state",
    "container_health",
    "is_running",
    "update_mode",
    "pinned_tag",
    "ignored_tags",
    "ignored_digests",
    "deploy_generation",
    "active_run",
    "last_run",
    "last_seen_at",
    "last_checked_at",
    "last_check_error",
)
RUN_FIELDS = (
    "id",
    "service",
    "service_name",
    "generation",
    "state",
    "trigger",
    "requested_by",
    "from_tag",
    "from_digest",
    "to_tag",
    "to_digest",
    "rollback_of",
    "error",
    "failed_state",
    "restored",
    "created_at",
    "started_at",
    "heartbeat_at",
    "finished_at",
)


class ErrorSerializer(serializers.Serializer):
    """The body of every error response."""

    status = serializers.IntegerField()
    error = serializers.CharField(help_text="A short code: conflict, refused, invalid, permission_denied…")
    message = serializers.CharField()
    fields = serializers.DictField(required=False, help_text="Per-field problems of an invalid request.")


class ProjectSerializer(serializers.ModelSerializer):
    host = serializers.SlugRelatedField(slug_field="name", read_only=True, help_text="The Docker host it runs on")

    class Meta:
        model = ComposeProject
        fields = PROJECT_FIELDS


class ProjectRefSerializer(serializers.ModelSerializer):
    host = serializers.SlugRelatedField(slug_field="name", read_only=True, help_text="The Docker host it runs on")

    class Meta:
        model = ComposeProject
        fields = ("id", "host", "name")


class StateSerializer(serializers.Serializer):
    label = serializers.CharField(help_text="Synced, Update available, Waiting for window, Awaiting approval, …")
    key = serializers.CharField(help_text="The same state as a stable key: synced, update, window, approval, …")
    detail = serializers.CharField(allow_blank=True)
    attention = serializers.BooleanField(help_text="Whether someone should look at it")


class ServiceSerializer(serializers.ModelSerializer):
    """A service with its derived state; needs `context["rows"]`: service id → BoardRow."""

    project = ProjectRefSerializer(read_only=True)
    state = serializers.SerializerMethodField()
    last_run = serializers.SerializerMethodField()

    class Meta:
        model = Service
        fields = SERVICE_FIELDS
        read_only_fields = SERVICE_FIELDS

    @extend_schema_field(StateSerializer)
    def get_state(self, service: Service) -> dict:
        row: BoardRow | None = self.context["rows"].get(service.pk)
        if row is None:
            return {"label": "Unknown", "key": "unknown", "detail": "", "attention": False}
        return {"label": row.label, "key": row.style.key, "detail": row.detail, "attention": row.style.attention}

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_last_run(self, service: Service) -> int | None:
        row: BoardRow | None = self.context["rows"].get(service.pk)
        return row.last_run.pk if row is not None and row.last_run is not None else None


class PolicyRowSerializer(serializers.Serializer):
    setting = serializers.CharField()
    value = serializers.CharField()
    source = serializers.CharField(help_text="label, override, set here, project, global or default")
    origin = serializers.CharField(allow_blank=True)


class WindowSerializer(serializers.Serializer):
    schedule = serializers.CharField(help_text="'always', or the windows as CRON DURATION TIME_ZONE; …")
    source = serializers.CharField(help_text="label, override, project or global")
    open = serializers.BooleanField()
    next_open = serializers.DateTimeField(allow_null=True)
    min_age = serializers.CharField(allow_null=True, help_text="The minimum image age, e.g. 24h")


class ServiceDetailSerializer(ServiceSerializer):
    labels = serializers.JSONField(read_only=True)
    policy = serializers.SerializerMethodField()
    policy_error = serializers.SerializerMethodField()
    explanation = serializers.JSONField(source="check_explanation", read_only=True)
    timing = serializers.SerializerMethodField()

    class Meta(ServiceSerializer.Meta):
        fields = (*SERVICE_FIELDS, "labels", "policy", "policy_error", "explanation", "timing")

    @extend_schema_field(PolicyRowSerializer(many=True))
    def get_policy(self, service: Service) -> list[dict]:
        rows, _ = pages.policy_rows(service)
        return [row.__dict__ for row in rows]

    @extend_schema_field(serializers.CharField())
    def get_policy_error(self, service: Service) -> str:
        return pages.policy_rows(service)[1]

    @extend_schema_field(WindowSerializer(allow_null=True))
    def get_timing(self, service: Service) -> dict | None:
        try:
            policy = service_policy(service)
            schedule = service_schedule(service, policy)
        except (PolicyError, WindowError):
            return None
        now = timezone.now()
        return {
            "schedule": str(schedule),
            "source": schedule.source if not schedule.always else "",
            "open": schedule.is_open(now),
            "next_open": None if schedule.always else schedule.next_open(now),
            "min_age": policy.to_dict()["min_age"],
        }


class RunSerializer(serializers.ModelSerializer):
    service_name = serializers.CharField(source="service.__str__", read_only=True, help_text="PROJECT/SERVICE")
    requested_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = DeploymentRun
        fields = RUN_FIELDS
        read_only_fields = RUN_FIELDS


class RunStepSerializer(serializers.Serializer):
    state = serializers.CharField()
    at = serializers.DateTimeField()


class RunDetailSerializer(RunSerializer):
    steps = RunStepSerializer(many=True, read_only=True)

    class Meta(RunSerializer.Meta):
        fields = (*RUN_FIELDS, "log", "steps")


class RevisionSerializer(serializers.ModelSerializer):
    user = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Revision
        fields = ("id", "service", "tag", "digest", "image_id", "trigger", "user", "run", "created_at")


class CheckCycleSerializer(serializers.ModelSerializer):
    class Meta:
        model = CheckCycle
        fields = (
            "id",
            "state",
            "services_checked",
            "repositories_checked",
            "registry_requests",
            "updates_found",
            "deploys_queued",
            "errors",
            "started_at",
            "heartbeat_at",
            "finished_at",
        )


class ScanSerializer(serializers.ModelSerializer):
    severity_totals = serializers.DictField(child=serializers.IntegerField(), read_only=True)

    class Meta:
        model = ScanReport
        fields = (
            "id",
            "service",
            "run",
            "trigger",
            "status",
            "image_reference",
            "image_id",
            "digest",
            "scanners",
            "severities",
            "counts",
            "severity_totals",
            "error",
            "trivy_version",
            "db_updated_at",
            "reused_from",
            "created_at",
            "started_at",
            "finished_at",
        )


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    role = serializers.CharField(help_text="What this request may do: viewer, operator or admin")
    authenticated_by = serializers.CharField(help_text="token or session")
    token = serializers.CharField(allow_null=True, help_text="The token's name")


# --- Inputs --------------------------------------------------------------------------------------


class ServiceQuery(serializers.Serializer):
    """The service list's filters (DRF's CharField also refuses NUL characters, which PostgreSQL cannot take)."""

    project = serializers.CharField(required=False, allow_blank=True, max_length=255, default="")
    state = serializers.CharField(required=False, allow_blank=True, max_length=32, default="")
    q = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")


# The OCI grammar, in the schema too (registries.reference checks it again before anything acts).
TAG_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"
DIGEST_PATTERN = r"^([a-z0-9]+([+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,})?$"


def _tag_field(**kwargs: object) -> serializers.RegexField:
    return serializers.RegexField(TAG_PATTERN, max_length=128, **kwargs)


def _digest_field() -> serializers.RegexField:
    return serializers.RegexField(DIGEST_PATTERN, max_length=100, allow_blank=True, default="")


class TagInput(serializers.Serializer):
    tag = _tag_field()


class ApproveInput(serializers.Serializer):
    tag = _tag_field(help_text="The offered tag, as the service shows it")
    digest = _digest_field()
    generation = serializers.IntegerField(
        min_value=0, max_value=2**63 - 1, help_text="The service's deploy_generation you saw"
    )


class DismissInput(serializers.Serializer):
    tag = _tag_field()
    digest = _digest_field()


class RollbackInput(serializers.Serializer):
    revision = serializers.IntegerField(
        min_value=1, max_value=2**63 - 1, help_text="The id of one of the service's revisions"
    )


class IgnoreInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["tag", "digest"])
    value = serializers.CharField(max_length=100)


class ActionResultSerializer(serializers.Serializer):
    message = serializers.CharField()
    run = RunSerializer(allow_null=True)

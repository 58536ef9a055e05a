from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db import transaction

from deployments.forms import ServicePolicyForm
from deployments.models import CheckCycle, ComposeProject, DeploymentRun, DockerHost, Revision, Service
from registries.tags.windows import WindowError, parse_schedule


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by the engine: visible, never editable by hand."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(DockerHost)
class DockerHostAdmin(ReadOnlyAdmin):
    """Agents write these rows; an admin may delete a host that is gone for good (once it has no projects)."""

    list_display = ["name", "liveness_label", "engine_version", "compose_version", "agent", "last_heartbeat_at"]
    search_fields = ["name", "agent"]

    @admin.display(description="State")
    def liveness_label(self, host: DockerHost) -> str:
        return DockerHost.Liveness(host.liveness()).label


class ComposeProjectForm(forms.ModelForm):
    class Meta:
        model = ComposeProject
        fields = ["maintenance_window"]

    def clean_maintenance_window(self) -> str:
        value = self.cleaned_data["maintenance_window"].strip()
        try:
            parse_schedule(value, default_zone=settings.WINDOW_TIME_ZONE)
        except WindowError as exc:
            raise forms.ValidationError(str(exc)) from None
        return value


@admin.register(ComposeProject)
class ComposeProjectAdmin(admin.ModelAdmin):
    """Discovered from the engine: only the maintenance window is set here."""

    list_display = ["name", "host", "working_dir", "maintenance_window", "last_seen_at"]
    list_filter = ["host"]
    search_fields = ["name", "working_dir"]
    form = ComposeProjectForm
    readonly_fields = ["name", "working_dir", "config_files", "last_seen_at"]
    fields = ["name", "working_dir", "config_files", "maintenance_window", "last_seen_at"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj: ComposeProject, form, change: bool) -> None:
        obj.save(update_fields=["maintenance_window"])  # discovery owns the rest


SERVICE_FACTS = [
    "project",
    "name",
    "image",
    "repository",
    "current_tag",
    "current_digest",
    "container_state",
    "container_health",
    "is_running",
    "last_seen_at",
    "discovery_error",
]
SERVICE_POLICY = [
    "labels",
    "update_mode",
    "strategy",
    "include",
    "exclude",
    "allow_prerelease",
    "max_bump",
    "min_age",
    "window",
    "pinned_tag",
    "ignored_tags",
    "ignored_digests",
    "automation_paused",
]
SERVICE_CHECK = ["last_checked_at", "last_check_error", "available_tag", "available_digest", "check_explanation"]
# What the policy form edits: the only fields the admin ever writes (discovery, checks and deploys own the rest).
POLICY_WRITES = [*ServicePolicyForm.Meta.fields, "policy_overrides"]


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "repository",
        "current_tag",
        "short_digest",
        "container_state",
        "available_tag",
        "update_mode",
        "pinned_tag",
        "last_checked_at",
    ]
    list_filter = ["project", "is_running", "update_mode"]
    search_fields = ["name", "project__name", "repository"]
    form = ServicePolicyForm
    fieldsets = [
        (None, {"fields": SERVICE_FACTS}),
        ("Update policy (blank = as the updater.* labels say)", {"fields": SERVICE_POLICY}),
        ("Last check", {"fields": SERVICE_CHECK}),
        ("Deploy lock", {"fields": ["active_run", "deploy_generation"]}),
    ]
    readonly_fields = [*SERVICE_FACTS, "labels", *SERVICE_CHECK, "active_run", "deploy_generation"]

    actions = ["remove_gone_services"]

    def has_add_permission(self, request) -> bool:
        return False  # services come from discovery

    def has_delete_permission(self, request, obj: Service | None = None) -> bool:
        # Only a gone service can be removed (its history goes with it); a running one would come back
        # at the next check without its history. The "remove gone services" action does it in bulk.
        return super().has_delete_permission(request, obj) and (obj is None or (obj.is_gone and not obj.active_run_id))

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def save_model(self, request, obj: Service, form, change: bool) -> None:
        # Never a full save: a deploy may have claimed the service since this form loaded it.
        obj.save(update_fields=POLICY_WRITES)

    @admin.action(description="Remove selected services that are gone (with their history)", permissions=["delete"])
    def remove_gone_services(self, request, queryset) -> None:
        with transaction.atomic():
            gone = queryset.filter(container_state=Service.GONE, active_run__isnull=True)
            removed = [str(service) for service in gone.select_related("project")]
            gone.delete()
        kept = queryset.count()
        if removed:
            self.message_user(request, f"Removed {len(removed)} gone service(s): {', '.join(removed)}.")
        if kept:
            self.message_user(request, f"Kept {kept} service(s) that still have containers.", messages.WARNING)

    @admin.display(description="digest")
    def short_digest(self, service: Service) -> str:
        return service.current_digest[:19]


@admin.register(DeploymentRun)
class DeploymentRunAdmin(ReadOnlyAdmin):
    list_display = ["pk", "service", "trigger", "from_tag", "to_tag", "state", "restored", "created_at", "finished_at"]
    list_filter = ["state", "trigger"]
    search_fields = ["service__name", "service__project__name", "to_tag"]
    exclude = ["file_backup"]


@admin.register(Revision)
class RevisionAdmin(ReadOnlyAdmin):
    list_display = ["service", "tag", "digest", "trigger", "user", "created_at"]
    list_filter = ["trigger"]
    search_fields = ["service__name", "tag", "digest"]


@admin.register(CheckCycle)
class CheckCycleAdmin(ReadOnlyAdmin):
    list_display = [
        "pk",
        "state",
        "services_checked",
        "repositories_checked",
        "registry_requests",
        "updates_found",
        "deploys_queued",
        "started_at",
        "finished_at",
    ]

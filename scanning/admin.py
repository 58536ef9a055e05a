from django.contrib import admin

from scanning.models import GateDecision, ScanAllowance, ScanReport


@admin.register(ScanReport)
class ScanReportAdmin(admin.ModelAdmin):
    list_display = ("id", "service", "image_reference", "status", "trigger", "created_at", "finished_at")
    list_filter = ("status", "trigger")
    search_fields = ("image_reference", "image_id", "digest")
    exclude = ("report_json",)
    readonly_fields = [field.name for field in ScanReport._meta.fields if field.name != "report_json"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(GateDecision)
class GateDecisionAdmin(admin.ModelAdmin):
    list_display = ("run", "service", "policy", "severity", "allowed", "created_at")
    list_filter = ("allowed", "policy")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ScanAllowance)
class ScanAllowanceAdmin(admin.ModelAdmin):
    list_display = ("service", "digest", "created_by", "created_at", "used_at", "used_by_run")

from django import forms
from django.contrib import admin

from registries.models import Registry, RegistryHealth


class RegistryForm(forms.ModelForm):
    """The secret is write-only: never rendered back, kept when left blank."""

    secret = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Password or token. Leave blank to keep the stored one.",
    )
    clear_secret = forms.BooleanField(required=False, help_text="Remove the stored secret.")

    class Meta:
        model = Registry
        fields = ["host", "provider", "username", "insecure"]

    def save(self, commit: bool = True) -> Registry:
        registry = super().save(commit=False)
        if self.cleaned_data.get("clear_secret"):
            registry.set_secret("")
        elif self.cleaned_data.get("secret"):
            registry.set_secret(self.cleaned_data["secret"])
        if commit:
            registry.save()
        return registry


@admin.register(Registry)
class RegistryAdmin(admin.ModelAdmin):
    form = RegistryForm
    list_display = ["host", "provider", "username", "has_secret", "insecure", "updated_at"]
    search_fields = ["host", "username"]

    @admin.display(boolean=True, description="secret stored")
    def has_secret(self, registry: Registry) -> bool:
        return registry.has_secret


@admin.register(RegistryHealth)
class RegistryHealthAdmin(admin.ModelAdmin):
    """Written by the check cycle only."""

    list_display = ["host", "reachable", "changed_at", "checked_at", "error"]
    list_filter = ["reachable"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

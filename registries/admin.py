"""Registries in the admin: one form, provider-specific fields, write-only secrets, a Test connection action."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from registries.configs import detect_provider
from registries.connection_test import registry_test_connection
from registries.models import Registry, RegistryHealth
from registries.providers import provider_class

# Option fields: (name, label, help, providers that use it). Stored in Registry.options; none is secret.
OPTION_FIELDS: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("region", "Region", "Blank: read from the host (ECR) or required (SWR, e.g. cn-north-4).", ("ecr", "swr")),
    ("role_arn", "Role ARN", "Assumed through STS before calling ECR (AWS_ROLE_ARN).", ("ecr",)),
    ("tenant_id", "Tenant ID", "Azure AD tenant of the service principal; blank for the admin user.", ("acr",)),
    ("authority_host", "Azure AD authority", "Blank: https://login.microsoftonline.com.", ("acr",)),
    (
        "audience",
        "ACR audience",
        "What the Azure AD token is for. Blank: https://containerregistry.azure.net (ARM's, e.g. "
        "https://management.azure.com, where the registry accepts it).",
        ("acr",),
    ),
    ("project", "Project", "GCP project ID (informational: the image path names it).", ("gcp",)),
    ("organization", "Organization", "SWR organization (namespace).", ("swr",)),
    ("registry", "Registry name", "DOCR registry name (the first path part of your images).", ("docr",)),
    (
        "api_url",
        "API URL",
        "Override the provider API (a VPC endpoint, a sovereign cloud, a local emulator). Blank: the default.",
        ("dockerhub", "ecr", "acr", "gcp", "harbor", "swr", "docr"),
    ),
]
PROVIDER_HELP = {
    "generic": "Username and password or token. GHCR: a PAT with read:packages; GitLab: a deploy token.",
    "dockerhub": "Blank for anonymous (public images only). Username + personal access token (read-only scope).",
    "ecr": "Blank key for the default credential chain (env, ~/.aws, instance role); or access key ID + secret.",
    "acr": "Admin user (registry name + password), or a service principal (client ID + secret + tenant).",
    "gcp": "Paste a service-account JSON key (artifactregistry.reader) as the secret, or an access token.",
    "harbor": "User or robot account (robot$project+name) and its secret.",
    "swr": "Access key (AK) as username and secret key (SK); or user region@AK and a pre-generated login key.",
    "docr": "A DigitalOcean API token (read access to the registry) as the secret.",
}


class RegistryFormBase(forms.ModelForm):
    """The secret is write-only: never rendered back, kept when left blank. Option fields: see `RegistryForm`."""

    secret = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Password, token, secret key or service-account JSON. Leave blank to keep the stored one.",
    )
    clear_secret = forms.BooleanField(required=False, help_text="Remove the stored secret.")

    class Meta:
        model = Registry
        fields = ["host", "provider", "endpoint", "username", "ca_certificate", "insecure"]

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if "provider" in self.fields:  # absent on the read-only page of a registry from the environment
            self.fields["provider"].help_text = " ".join(f"{name}: {text}" for name, text in PROVIDER_HELP.items())
            self.fields["provider"].required = False
        for name, *_ in OPTION_FIELDS:
            if name in self.fields:
                self.fields[name].initial = (self.instance.options or {}).get(name, "")

    def clean(self) -> dict:
        data = super().clean() or {}
        provider = data.get("provider") or detect_provider(data.get("host", ""))
        data["provider"] = provider
        if provider == "swr" and not (data.get("region") or data.get("host", "").startswith("swr.")):
            self.add_error("region", "SWR needs a region (or a swr.<region>.myhuaweicloud.com host).")
        if provider == "acr" and data.get("tenant_id") and not data.get("username"):
            self.add_error("username", "A service principal needs its client ID as username.")
        secret = data.get("secret") or ""
        if provider == "gcp" and secret.lstrip().startswith("{"):
            import json

            try:
                json.loads(secret)
            except ValueError:
                self.add_error("secret", "This looks like a JSON key but is not valid JSON.")
        return data

    def save(self, commit: bool = True) -> Registry:
        registry = super().save(commit=False)
        registry.provider = self.cleaned_data["provider"]
        wanted = provider_options(registry.provider)
        registry.options = {
            name: self.cleaned_data[name].strip()
            for name, *_ in OPTION_FIELDS
            if name in wanted and self.cleaned_data.get(name, "").strip()
        }
        if self.cleaned_data.get("clear_secret"):
            registry.set_secret("")
        elif self.cleaned_data.get("secret"):
            registry.set_secret(self.cleaned_data["secret"])
        if commit:
            registry.save()
        return registry


# The option fields are declared on the class (the admin checks fieldsets against declared fields).
RegistryForm = type(
    "RegistryForm",
    (RegistryFormBase,),
    {
        name: forms.CharField(required=False, label=label, help_text=help_text)
        for name, label, help_text, _ in OPTION_FIELDS
    },
)


def provider_options(provider: str) -> set[str]:
    return {name for name, _, _, providers in OPTION_FIELDS if provider in providers}


@admin.register(Registry)
class RegistryAdmin(admin.ModelAdmin):
    form = RegistryForm
    list_display = ["host", "provider", "username", "has_secret", "managed_by_env", "updated_at"]
    list_filter = ["provider", "managed_by_env"]
    search_fields = ["host", "username"]
    actions = ["test_connection"]

    def get_fieldsets(self, request: HttpRequest, obj: Registry | None = None):  # type: ignore[no-untyped-def]
        if obj is not None and obj.managed_by_env:
            return [(None, {"fields": ["host", "provider", "endpoint", "username", "options_summary", "env_note"]})]
        common = ["host", "provider", "endpoint", "username", "secret", "clear_secret"]
        if obj is None:  # adding: every provider's settings, the chosen provider's are used
            options = [name for name, *_ in OPTION_FIELDS]
        else:
            options = [name for name, *_ in OPTION_FIELDS if name in provider_options(obj.provider)]
        label = provider_class(obj.provider).label if obj else "Provider settings (only the chosen provider's are kept)"
        return [
            (None, {"fields": common}),
            (label, {"fields": options}),
            ("TLS", {"fields": ["ca_certificate", "insecure"], "classes": ["collapse"]}),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Registry | None = None):  # type: ignore[no-untyped-def]
        if obj is not None and obj.managed_by_env:
            return ["host", "provider", "endpoint", "username", "options_summary", "env_note"]
        return []

    def has_change_permission(self, request: HttpRequest, obj: Registry | None = None) -> bool:
        return super().has_change_permission(request, obj) and not (obj and obj.managed_by_env)

    def has_delete_permission(self, request: HttpRequest, obj: Registry | None = None) -> bool:
        return super().has_delete_permission(request, obj) and not (obj and obj.managed_by_env)

    @admin.display(boolean=True, description="secret stored")
    def has_secret(self, registry: Registry) -> bool:
        return registry.has_secret

    @admin.display(description="settings")
    def options_summary(self, registry: Registry) -> str:
        return ", ".join(f"{key}={value}" for key, value in sorted((registry.options or {}).items())) or "-"

    @admin.display(description="managed by")
    def env_note(self, registry: Registry) -> str:
        return "the environment (.updater.env): change it there and restart; the secret is stored, never shown"

    @admin.action(description="Test connection")
    def test_connection(self, request: HttpRequest, queryset: QuerySet[Registry]) -> None:
        # A deliberate, operator-started check with short timeouts (runs in Django's sync thread, not the loop).
        for registry in queryset[:10]:
            report = registry_test_connection(registry.host, timeout=5.0)
            level = messages.SUCCESS if report.ok else messages.ERROR
            self.message_user(request, " · ".join(report.lines()), level)


@admin.register(RegistryHealth)
class RegistryHealthAdmin(admin.ModelAdmin):
    """Written by the check cycle only."""

    list_display = ["host", "reachable", "changed_at", "checked_at", "error"]
    list_filter = ["reachable"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


from registries.webhooks import admin as webhook_admin  # noqa: E402, F401 - registers the webhook admin

"""Registry webhooks in the admin: the URL is shown once (on creation or regeneration), the secret is
write-only, refusals are visible with their last reason, accepted deliveries are listed read-only."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from registries.webhooks import FAMILIES, default_family
from registries.webhooks.models import WebhookDelivery, WebhookEndpoint
from registries.webhooks.services import webhook_endpoint_create, webhook_token_regenerate

SETUP = {
    "distribution": "config.yml → notifications.endpoints: url: <URL>, headers: {Authorization: [Bearer <secret>]}",
    "gitlab": "gitlab.rb → registry['notifications']: url <URL>, headers Authorization: [<secret>]",
    "dockerhub": "Repository → Webhooks → URL <URL> (Docker Hub cannot sign: keep the URL private)",
    "harbor": "Project → Webhooks → HTTP, payload format Default, Endpoint <URL>, Auth Header <secret>",
    "acr": 'az acr webhook create --actions push --uri <URL> --headers "Authorization=<secret>"',
    "github": "Organization or repository → Webhooks → Payload URL <URL>, JSON, Secret <secret>, Packages events",
    "quay": "Repository → Settings → Create notification → Push to repository → Webhook POST <URL>",
}


class WebhookEndpointForm(forms.ModelForm):
    secret = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Authorization header value (Harbor, ACR, distribution, GitLab) or HMAC secret (GitHub: required). "
        "Leave blank to keep the stored one.",
    )
    clear_secret = forms.BooleanField(required=False, help_text="Remove the stored secret.")

    class Meta:
        model = WebhookEndpoint
        fields = ["registry", "family", "enabled"]

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if "family" in self.fields:
            self.fields["family"].required = False
            self.fields["family"].help_text = "Blank: the registry provider's own (generic: distribution)."

    def clean(self) -> dict:
        data = super().clean() or {}
        registry = data.get("registry") or getattr(self.instance, "registry", None)
        if registry is not None and not data.get("family"):
            data["family"] = default_family(provider=registry.provider, host=registry.host)
        keeps_secret = self.instance.pk and self.instance.has_secret and not data.get("clear_secret")
        if data.get("family") == "github" and not (data.get("secret") or keeps_secret):
            self.add_error("secret", "GitHub signs its webhooks: enter the secret you give GitHub.")
        return data


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ["registry", "family", "enabled", "has_secret", "url_hint", "last_accepted_at", "refusals"]
    list_filter = ["family", "enabled"]
    actions = ["regenerate_url"]
    readonly_fields = ["url_hint", "setup", "refusals", "last_accepted_at", "recent_deliveries"]

    def get_fieldsets(self, request: HttpRequest, obj: WebhookEndpoint | None = None):  # type: ignore[no-untyped-def]
        main = ["registry", "family", "secret", "clear_secret", "enabled"]
        if obj is None:
            return [(None, {"fields": main})]
        return [(None, {"fields": [*main, "url_hint", "setup"]}), ("Deliveries", {"fields": self.readonly_fields[2:]})]

    def get_readonly_fields(self, request: HttpRequest, obj: WebhookEndpoint | None = None):  # type: ignore[no-untyped-def]
        return ["registry", *self.readonly_fields] if obj else []

    def save_model(self, request: HttpRequest, obj: WebhookEndpoint, form: forms.Form, change: bool) -> None:
        data = form.cleaned_data
        if not change:
            endpoint, token = webhook_endpoint_create(
                registry=data["registry"], family=data["family"], secret=data.get("secret") or ""
            )
            endpoint.enabled = data.get("enabled", True)
            endpoint.save(update_fields=["enabled"])
            obj.pk, obj.token_hint = endpoint.pk, endpoint.token_hint
            request._webhook_tokens = [(endpoint, token)]  # type: ignore[attr-defined]
            return
        obj.family = data["family"]
        if data.get("clear_secret"):
            obj.set_secret("")
        elif data.get("secret"):
            obj.set_secret(data["secret"])
        obj.save()

    def response_add(self, request: HttpRequest, obj: WebhookEndpoint, post_url_continue: str | None = None):  # type: ignore[no-untyped-def]
        return self._show_urls(request, getattr(request, "_webhook_tokens", []))

    @admin.action(description="Regenerate webhook URL (the old one stops working)")
    def regenerate_url(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> HttpResponse:
        endpoints = list(queryset.select_related("registry")[:20])
        return self._show_urls(
            request, [(endpoint, webhook_token_regenerate(endpoint=endpoint)) for endpoint in endpoints]
        )

    def _show_urls(self, request: HttpRequest, tokens: list[tuple[WebhookEndpoint, str]]) -> TemplateResponse:
        rows = [
            {"endpoint": endpoint, "url": webhook_url(request, token), "setup": SETUP[endpoint.family]}
            for endpoint, token in tokens
        ]
        context = {**self.admin_site.each_context(request), "title": "Webhook URLs", "rows": rows, "opts": self.opts}
        response = TemplateResponse(request, "admin/registries/webhook_urls.html", context)
        response["Cache-Control"] = "no-store"  # shown once: not kept by the browser either
        return response

    @admin.display(boolean=True, description="secret")
    def has_secret(self, endpoint: WebhookEndpoint) -> bool:
        return endpoint.has_secret

    @admin.display(description="URL")
    def url_hint(self, endpoint: WebhookEndpoint) -> str:
        return f"/hooks/…{endpoint.token_hint}/ (shown once; regenerate to see a new one)"

    @admin.display(description="how to set it up")
    def setup(self, endpoint: WebhookEndpoint) -> str:
        return f"{FAMILIES[endpoint.family].label}: {SETUP[endpoint.family]}"

    @admin.display(description="refused")
    def refusals(self, endpoint: WebhookEndpoint) -> str:
        if not endpoint.refused_count:
            return "none"
        when = f"{endpoint.last_refused_at:%Y-%m-%d %H:%M:%S}"
        return f"{endpoint.refused_count}, last {when}: {endpoint.last_refused_reason}"

    @admin.display(description="last deliveries")
    def recent_deliveries(self, endpoint: WebhookEndpoint) -> str:
        rows = endpoint.deliveries.all()[:10]
        if not rows:
            return "none yet"
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li>{} · {} · {} · {}</li>",
                (
                    (
                        f"{d.received_at:%Y-%m-%d %H:%M:%S}",
                        d.get_state_display(),
                        ", ".join(d.repositories) or "-",
                        d.result or d.note,
                    )
                    for d in rows
                ),
            ),
        )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """Written by the webhook endpoint only."""

    list_display = ["received_at", "endpoint", "state", "repositories", "checked_at", "result"]
    list_filter = ["state", "endpoint"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: WebhookDelivery | None = None) -> bool:
        return False


def webhook_url(request: HttpRequest, token: str) -> str:
    path = reverse("registries:webhook", args=[token])
    return f"{settings.PUBLIC_URL}{path}" if settings.PUBLIC_URL else request.build_absolute_uri(path)

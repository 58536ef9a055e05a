"""API tokens in the admin: create one for a user (shown once), see when each was used, revoke."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from dashboard.api.tokens import TokenRefused, api_token_create, api_token_revoke
from dashboard.models import ApiToken


class ApiTokenCreationForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["owner", "name", "role", "expires_at"]

    def clean(self) -> dict:
        cleaned = super().clean()
        owner, role = cleaned.get("owner"), cleaned.get("role")
        if owner is not None and role:
            from dashboard.api.tokens import roles_up_to

            if role not in roles_up_to(owner):
                self.add_error("role", "A token's role cannot be higher than its owner's")
        return cleaned


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "prefix", "role", "created_at", "expires_at", "last_used_at", "revoked_at"]
    list_filter = ["role", "revoked_at"]
    search_fields = ["name", "prefix", "owner__username"]
    actions = ["revoke_selected"]
    readonly_fields = ["owner", "name", "prefix", "role", "created_at", "expires_at", "last_used_at", "revoked_at"]

    def get_form(self, request: HttpRequest, obj: ApiToken | None = None, **kwargs: object):
        if obj is None:
            kwargs["form"] = ApiTokenCreationForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> list[str]:
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request: HttpRequest, obj: ApiToken | None = None) -> list[str]:
        return self.readonly_fields if obj is not None else ApiTokenCreationForm.Meta.fields

    def has_delete_permission(self, request: HttpRequest, obj: ApiToken | None = None) -> bool:
        return False  # revoke instead: the row records who had access

    def save_model(self, request: HttpRequest, obj: ApiToken, form: forms.ModelForm, change: bool) -> None:
        if change:
            return  # nothing on a token is edited; revoking is the action
        try:
            created = api_token_create(owner=obj.owner, name=obj.name, role=obj.role, expires_at=obj.expires_at)
        except TokenRefused as exc:  # the form checked already; a race with a role change lands here
            raise forms.ValidationError(str(exc)) from None
        obj.pk, obj.prefix = created.token.pk, created.token.prefix
        request._api_token_plaintext = created.plaintext  # type: ignore[attr-defined] - shown by response_add only

    def response_add(self, request: HttpRequest, obj: ApiToken, post_url_continue: str | None = None) -> HttpResponse:
        context = {**self.admin_site.each_context(request), "token": obj, "plaintext": request._api_token_plaintext}  # type: ignore[attr-defined]
        response = TemplateResponse(request, "admin/dashboard/apitoken/created.html", context)
        response["Cache-Control"] = "no-store"
        return response

    @admin.action(description="Revoke selected tokens", permissions=["change"])
    def revoke_selected(self, request: HttpRequest, queryset) -> None:
        for token in queryset:
            api_token_revoke(token=token)
        self.message_user(request, f"Revoked {queryset.count()} token(s).")

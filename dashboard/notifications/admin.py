"""Notification channels in the admin: the Apprise URL is write-only, a failing channel shows its last
error, "Send test notification" sends at once; the outbox is read-only."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from dashboard.notifications import apprise_client
from dashboard.notifications.apprise_client import ChannelMisconfigured
from dashboard.notifications.models import Notification, NotificationChannel, NotifyEvent
from dashboard.notifications.services import channel_send_test


class ChannelForm(forms.ModelForm):
    url = forms.CharField(
        required=False,
        strip=True,
        label="Apprise URL",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="e.g. slack://…, discord://…, msteams://…, tgram://…, mailtos://…, ntfy://…, gotify://…, json://… "
        "(see the Apprise wiki). Stored encrypted and never shown again; leave blank to keep the stored one.",
    )
    events = forms.MultipleChoiceField(choices=NotifyEvent.choices, widget=forms.CheckboxSelectMultiple)
    projects = forms.CharField(
        required=False, help_text="Comma-separated project names or patterns (shop-*); blank: every project."
    )

    class Meta:
        model = NotificationChannel
        fields = ["name", "events", "projects", "enabled", "digest_minutes", "quiet_start", "quiet_end", "timezone"]

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.initial["projects"] = ", ".join(self.instance.projects or [])

    def clean_url(self) -> str:
        url = self.cleaned_data.get("url", "")
        if not url and not self.instance.url_encrypted:
            raise forms.ValidationError("An Apprise URL is required.")
        if url:
            try:
                apprise_client.validate(url)
            except ChannelMisconfigured as exc:
                raise forms.ValidationError(str(exc)) from None  # never the URL itself: it holds the token
        return url

    def clean_projects(self) -> list[str]:
        return [name.strip() for name in self.cleaned_data.get("projects", "").split(",") if name.strip()]

    def save(self, commit: bool = True) -> NotificationChannel:
        channel = super().save(commit=False)
        channel.projects = self.cleaned_data["projects"]
        if url := self.cleaned_data.get("url"):
            channel.set_url(url)
            channel.url_display = apprise_client.describe(url)
        if commit:
            channel.save()
        return channel


@admin.register(NotificationChannel)
class NotificationChannelAdmin(admin.ModelAdmin):
    form = ChannelForm
    list_display = ["name", "url_display", "enabled", "delivery", "project_filter", "last_sent_at", "status"]
    list_filter = ["enabled"]
    search_fields = ["name"]
    actions = ["send_test"]
    readonly_fields = ["url_display", "last_sent_at", "last_error_at", "last_error"]
    fieldsets = [
        (None, {"fields": ["name", "url", "url_display", "events", "projects", "enabled"]}),
        ("Hygiene", {"fields": ["digest_minutes", "quiet_start", "quiet_end", "timezone"]}),
        ("Status", {"fields": ["last_sent_at", "last_error_at", "last_error"]}),
    ]

    @admin.display(description="delivery")
    def delivery(self, channel: NotificationChannel) -> str:
        mode = f"digest every {channel.digest_minutes} min" if channel.digest_minutes else "at once"
        if channel.quiet_start and channel.quiet_end:
            mode += f", quiet {channel.quiet_start:%H:%M} to {channel.quiet_end:%H:%M} {channel.timezone}"
        return mode

    @admin.display(description="projects")
    def project_filter(self, channel: NotificationChannel) -> str:
        return ", ".join(channel.projects) or "all"

    @admin.display(description="status")
    def status(self, channel: NotificationChannel) -> str:
        if channel.failing:
            return f"FAILING since {channel.last_error_at:%Y-%m-%d %H:%M:%S}: {channel.last_error[:200]}"
        return "ok" if channel.last_sent_at else "nothing sent yet"

    @admin.action(description="Send test notification")
    def send_test(self, request: HttpRequest, queryset: QuerySet[NotificationChannel]) -> None:
        # A deliberate operator action with short timeouts, like Registries → Test connection.
        for channel in queryset[:10]:
            error = channel_send_test(channel=channel)
            if error:
                self.message_user(request, f"{channel.name}: not delivered: {error}", messages.ERROR)
            else:
                self.message_user(request, f"{channel.name}: test notification delivered", messages.SUCCESS)


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """The outbox, written by the notifier only."""

    list_display = ["created_at", "channel", "title", "state", "attempts", "due_at", "sent_at", "error"]
    list_filter = ["state", "channel", "kind"]
    search_fields = ["title"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Notification | None = None) -> bool:
        return False

from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "Dashboard"

    def ready(self) -> None:
        from dashboard import broadcast
        from dashboard.notifications import subscriber
        from registries.secrets import SealedField, sealed_field_register

        sealed_field_register(
            SealedField("dashboard.NotificationChannel", "url_encrypted", "name", "notification channel URL")
        )

        broadcast.connect()  # live pages: domain events → htmx out-of-band swaps
        subscriber.connect()  # notifications: domain events → outbox rows → Apprise

from django.apps import AppConfig


class DashboardConfig(AppConfig):
    name = "dashboard"
    verbose_name = "Dashboard"

    def ready(self) -> None:
        from dashboard import broadcast
        from dashboard.notifications import subscriber

        broadcast.connect()  # live pages: domain events → htmx out-of-band swaps
        subscriber.connect()  # notifications: domain events → outbox rows → Apprise

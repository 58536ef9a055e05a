"""The dashboard's admin pages live in its rooms."""

from dashboard.notifications import admin as notifications_admin  # noqa: F401 - registers the channel admin

"""The dashboard's admin pages live in its rooms."""

from dashboard.api import admin as api_admin  # noqa: F401 - registers the API token admin
from dashboard.notifications import admin as notifications_admin  # noqa: F401 - registers the channel admin

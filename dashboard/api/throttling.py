"""Rate limits, counted in the shared cache (Redis) so that every web process enforces the same budget."""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle


class ApiUserThrottle(UserRateThrottle):
    """Per user (a token counts for its owner): UPDATER_API_RATE."""

    def get_rate(self) -> str:
        return settings.API_RATE


class ApiAnonThrottle(AnonRateThrottle):
    """Per address for requests that are not authenticated: UPDATER_API_ANON_RATE."""

    def get_rate(self) -> str:
        return settings.API_ANON_RATE

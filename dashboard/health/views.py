from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dashboard.health.selectors import health_report


def health(request: HttpRequest) -> HttpResponse:
    """The latest result of every check (the worker refreshes them; `manage.py doctor` runs them now)."""
    return render(request, "dashboard/health.html", {"report": health_report()})

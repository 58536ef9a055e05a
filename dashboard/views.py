from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from deployments import selectors


def status(request: HttpRequest) -> HttpResponse:
    """Plain status page: every discovered service with its image, tag, digest and state."""
    context = {"services": selectors.service_status_list(), "last_cycle": selectors.last_check_cycle()}
    template = "dashboard/status.html#services" if request.htmx else "dashboard/status.html"
    return render(request, template, context)

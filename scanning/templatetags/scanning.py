"""`{% load scanning %}` … `{% include "scanning/_chip.html" with report=scan_reports|report_for:service.pk %}`."""

from django import template

register = template.Library()


@register.filter
def report_for(reports: dict, service_id: int):
    """The report of `service_id` in a dict from scanning.selectors.latest_reports_for_services (or None)."""
    return reports.get(service_id) if reports else None

from django import template

from dashboard.health.selectors import HealthReport, health_report

register = template.Library()


@register.simple_tag
def health_status() -> HealthReport:
    """For the banner in base.html: one query on the stored results, never a check itself."""
    return health_report()

"""How a scan looks wherever it is shown: the chip (board rows, service and report pages).

The chip is built in Python, not a template: the board renders hundreds of rows and a template costs
about 0.45 ms each (see `dashboard.rows`). `{% load scanning %}{% scan_chip report %}` in templates.
"""

from __future__ import annotations

from html import escape

from django import template
from django.utils.safestring import SafeString, mark_safe

from scanning.models import ScanReport
from scanning.report import KIND_LABELS, KINDS, SEVERITIES

register = template.Library()

REPORT_URL = "/scans/{}/"  # scanning.urls is mounted at /scans/ (updater_project.urls)
SHORT = {"CRITICAL": "C", "HIGH": "H", "MEDIUM": "M", "LOW": "L", "UNKNOWN": "?"}


@register.inclusion_tag("scanning/_summary.html")
def scan_summary(report: ScanReport) -> dict:
    """The counts table (kind by severity) of one finished scan."""
    from scanning.formats import summary_rows

    return {"severities": SEVERITIES, "summary_rows": summary_rows(report)}


@register.simple_tag
def scan_chip(report: ScanReport | None, empty: str = "—") -> SafeString:
    return scan_chip_html(report, empty=empty)


def scan_chip_html(report: ScanReport | None, *, empty: str = "—") -> SafeString:
    """Counts by severity of one scan, linking to its report; `empty` when the image was never scanned."""
    if report is None:
        return mark_safe(f'<span class="muted">{escape(empty)}</span>')  # noqa: S308 - escaped
    href = REPORT_URL.format(report.pk)
    if report.status == ScanReport.Status.SUCCEEDED:
        inner, title = _counts(report), f"Trivy: {describe_findings(report)}"
    elif report.status == ScanReport.Status.FAILED:
        inner, title = '<span class="sev sev-failed">Scan failed</span>', f"Scan failed: {report.error}"
    else:
        inner, title = '<span class="sev sev-running">Scanning…</span>', "A Trivy scan is running"
    html = f'<a class="scan-chip scan-{escape(report.status)}" href="{href}" title="{escape(title)}">{inner}</a>'
    return mark_safe(html)  # noqa: S308 - every value above is escaped


def _counts(report: ScanReport) -> str:
    totals = report.severity_totals
    if not any(totals.values()):
        return '<span class="sev sev-clean">No findings</span>'
    return "".join(
        f'<span class="sev sev-{severity.lower()}"><b>{number}</b><span aria-hidden="true">{SHORT[severity]}</span>'
        f'<span class="sr-only"> {severity.lower()}</span></span>'
        for severity, number in totals.items()
        if number
    )


@register.filter
def describe_findings(report: ScanReport) -> str:
    """'2 critical, 5 high (6 vulnerabilities, 1 secret)' or 'no findings'."""
    totals = report.severity_totals
    severities = [f"{totals[sev]} {sev.lower()}" for sev in SEVERITIES if totals.get(sev)]
    if not severities:
        return "no findings"
    kinds = [_plural(report.total(kind), KIND_LABELS[kind]) for kind in KINDS if report.total(kind)]
    return f"{', '.join(severities)} ({', '.join(kinds)})"


def _plural(number: int, noun: str) -> str:
    if number == 1:
        return f"1 {noun}"
    return f"{number} {noun[:-1]}ies" if noun.endswith("y") else f"{number} {noun}s"

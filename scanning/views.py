"""Report page and downloads: for anyone with a role (viewers read everything), like the dashboard's pages."""

from __future__ import annotations

import json

from asgiref.sync import sync_to_async
from django.contrib.auth.decorators import permission_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from dashboard.roles import VIEW
from scanning import formats, selectors, trivy
from scanning.models import ScanReport

view_required = permission_required(VIEW, raise_exception=True)


def _report_or_404(report_id: int) -> ScanReport:
    try:
        return selectors.report_detail(report_id)
    except ScanReport.DoesNotExist:
        raise Http404(f"no scan {report_id}") from None


@view_required
def report(request: HttpRequest, report_id: int) -> HttpResponse:
    """Summary, facts, links to every download format, and the findings."""
    scan = _report_or_404(report_id)
    raw = scan.report_bytes() if scan.status == ScanReport.Status.SUCCEEDED else b""
    context = formats.report_context(scan, json.loads(raw) if raw else None)
    return render(request, "scanning/report.html", context)


@view_required
async def download(request: HttpRequest, report_id: int, fmt: str) -> HttpResponse:
    """One format of a stored report; conversions run Trivy in a worker thread, off the event loop."""
    if fmt not in formats.FORMATS:
        raise Http404(f"unknown format {fmt!r}")
    scan = await sync_to_async(_report_or_404)(report_id)
    try:
        result = await sync_to_async(formats.render_download, thread_sensitive=False)(scan, fmt)
    except formats.NotDownloadable as exc:
        return HttpResponse(f"{exc}\n", status=409, content_type="text/plain; charset=utf-8")
    except trivy.TrivyError as exc:
        return HttpResponse(f"conversion failed: {exc}\n", status=503, content_type="text/plain; charset=utf-8")
    response = HttpResponse(result.content, content_type=result.content_type)
    disposition = "attachment" if result.attachment else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{result.filename}"'
    if fmt == "html":  # report text comes from image contents: no script may ever run from it
        response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response

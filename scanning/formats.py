"""Downloads of a stored report: Trivy JSON as stored, SARIF / CycloneDX / SPDX with `trivy convert` (no
rescan), CSV and a readable HTML page. Trivy 0.59.1 converts a JSON report to SPDX JSON as long as the
report lists every package, which is why scans run with `--list-all-pkgs`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from django.template.loader import render_to_string

from scanning import trivy
from scanning.models import ScanReport
from scanning.report import KIND_LABELS, KINDS, SEVERITIES, artifact_facts, csv_text, findings


@dataclass(frozen=True)
class Format:
    label: str
    content_type: str
    extension: str
    attachment: bool = True


FORMATS = {
    "json": Format("Trivy JSON", "application/json", "trivy.json"),
    "sarif": Format("SARIF", "application/sarif+json", "sarif.json"),
    "cyclonedx": Format("CycloneDX SBOM", "application/vnd.cyclonedx+json", "cdx.json"),
    "spdx": Format("SPDX SBOM", "application/spdx+json", "spdx.json"),
    "csv": Format("CSV", "text/csv; charset=utf-8", "csv"),
    "html": Format("HTML report", "text/html; charset=utf-8", "html", attachment=False),
}


class NotDownloadable(Exception):
    """The report has no content to download (not finished, or failed)."""


@dataclass(frozen=True)
class Download:
    content: bytes
    content_type: str
    filename: str
    attachment: bool


def render_download(report: ScanReport, fmt: str) -> Download:
    """The report in `fmt` (a key of FORMATS); raises NotDownloadable or trivy.TrivyError."""
    spec = FORMATS[fmt]
    raw = report.report_bytes()
    if report.status != ScanReport.Status.SUCCEEDED or not raw:
        raise NotDownloadable(f"scan {report.pk} has no report ({report.get_status_display().lower()})")
    if fmt == "json":
        content = raw
    elif fmt in trivy.CONVERT_FORMATS:
        content = trivy.convert(raw, fmt, trivy.TrivyOptions.from_settings())
    elif fmt == "csv":
        content = csv_text(findings(json.loads(raw))).encode()
    else:
        content = render_to_string("scanning/report_export.html", report_context(report, json.loads(raw))).encode()
    return Download(content, spec.content_type, download_name(report, spec.extension), spec.attachment)


def download_name(report: ScanReport, extension: str) -> str:
    reference = report.image_reference.rsplit("/", 1)[-1] or report.image_id[7:19]
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", reference).strip("._") or "image"
    return f"scan-{report.pk}-{safe}.{extension}"


def summary_rows(report: ScanReport) -> list[dict]:
    """Counts by kind (a row each: vulnerabilities always, the others when found) and severity."""
    counts = report.counts or {}
    return [
        {"kind": KIND_LABELS[kind], "counts": [counts.get(kind, {}).get(sev, 0) for sev in SEVERITIES]}
        for kind in KINDS
        if kind == "vulnerabilities" or any(counts.get(kind, {}).values())
    ]


def report_context(report: ScanReport, parsed: dict | None = None) -> dict:
    """What the report page and the HTML export show: summary table, facts and every finding by kind."""
    found = findings(parsed) if parsed is not None else []
    rows = summary_rows(report)
    groups = [
        {"kind": kind, "label": KIND_LABELS[kind], "findings": [f for f in found if f.kind == kind]} for kind in KINDS
    ]
    return {
        "report": report,
        "severities": SEVERITIES,
        "summary_rows": rows,
        "facts": artifact_facts(parsed) if parsed is not None else None,
        "groups": [group for group in groups if group["findings"]],
        "formats": FORMATS,
    }

"""Reading Trivy's JSON report (schema 2): findings, counts by severity, and the CSV export.

Pure functions on the parsed report: no database, no Trivy. Tested on real reports.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass

SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN")  # most severe first
RANK = {name: len(SEVERITIES) - index for index, name in enumerate(SEVERITIES)}  # CRITICAL=5 … UNKNOWN=1
KINDS = ("vulnerabilities", "secrets", "misconfigurations")
KIND_LABELS = {"vulnerabilities": "vulnerability", "secrets": "secret", "misconfigurations": "misconfiguration"}
CSV_COLUMNS = (
    "kind",
    "id",
    "severity",
    "package",
    "installed_version",
    "fixed_version",
    "status",
    "target",
    "title",
    "url",
)


@dataclass(frozen=True)
class Finding:
    """One row of a report: a vulnerable package, a secret in a file, or a failed configuration check."""

    kind: str  # one of KINDS
    id: str
    severity: str
    title: str
    target: str
    package: str = ""
    installed: str = ""
    fixed: str = ""
    status: str = ""
    url: str = ""

    @property
    def key(self) -> tuple[str, str, str]:
        """Identity across two images: the same CVE in the same package (or rule in the same file) is not new."""
        return (self.kind, self.id, self.package or self.target)

    @property
    def rank(self) -> int:
        return RANK.get(self.severity, RANK["UNKNOWN"])

    def describe(self) -> str:
        if self.kind == "vulnerabilities":
            fixed = f", fixed in {self.fixed}" if self.fixed else ", no fix yet"
            return f"{self.id} {self.severity} in {self.package} {self.installed}{fixed}"
        return f"{self.id} {self.severity} ({KIND_LABELS[self.kind]}) in {self.target}"

    def to_dict(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "id": self.id,
            "severity": self.severity,
            "title": self.title,
            "target": self.target,
            "package": self.package,
            "installed": self.installed,
            "fixed": self.fixed,
            "status": self.status,
            "url": self.url,
        }

    @classmethod
    def from_dict(cls, data: dict) -> Finding:
        return cls(**{name: str(data.get(name, "")) for name in cls.__dataclass_fields__})


def _severity(value: object) -> str:
    text = str(value or "UNKNOWN").upper()
    return text if text in RANK else "UNKNOWN"


def findings(report: dict) -> list[Finding]:
    """Every finding in the report, most severe first (failed misconfiguration checks only)."""
    found: list[Finding] = []
    for result in report.get("Results") or []:
        target = str(result.get("Target", ""))
        for vuln in result.get("Vulnerabilities") or []:
            found.append(
                Finding(
                    kind="vulnerabilities",
                    id=str(vuln.get("VulnerabilityID", "")),
                    severity=_severity(vuln.get("Severity")),
                    title=str(vuln.get("Title") or vuln.get("Description", ""))[:300],
                    target=target,
                    package=str(vuln.get("PkgName", "")),
                    installed=str(vuln.get("InstalledVersion", "")),
                    fixed=str(vuln.get("FixedVersion", "")),
                    status=str(vuln.get("Status", "")),
                    url=str(vuln.get("PrimaryURL", "")),
                )
            )
        for secret in result.get("Secrets") or []:
            line = secret.get("StartLine")
            found.append(
                Finding(
                    kind="secrets",
                    id=str(secret.get("RuleID", "")),
                    severity=_severity(secret.get("Severity")),
                    title=str(secret.get("Title", "")),
                    target=f"{target}:{line}" if line else target,
                    status=str(secret.get("Category", "")),
                )
            )
        for check in result.get("Misconfigurations") or []:
            if str(check.get("Status", "FAIL")).upper() != "FAIL":
                continue
            found.append(
                Finding(
                    kind="misconfigurations",
                    id=str(check.get("AVDID") or check.get("ID", "")),
                    severity=_severity(check.get("Severity")),
                    title=str(check.get("Title", "")),
                    target=target,
                    status=str(check.get("Message", ""))[:300],
                    url=str(check.get("PrimaryURL", "")),
                )
            )
    found.sort(key=lambda f: (-f.rank, KINDS.index(f.kind), f.id, f.package, f.target))
    return found


def empty_counts() -> dict[str, dict[str, int]]:
    return {kind: dict.fromkeys(SEVERITIES, 0) for kind in KINDS}


def count(found: Iterable[Finding]) -> dict[str, dict[str, int]]:
    """Counts by kind and severity: {"vulnerabilities": {"CRITICAL": 1, …}, "secrets": {…}, …}."""
    counts = empty_counts()
    for finding in found:
        counts[finding.kind][finding.severity] += 1
    return counts


def at_or_above(found: Iterable[Finding], severity: str) -> list[Finding]:
    floor = RANK[severity]
    return [finding for finding in found if finding.rank >= floor]


def csv_text(found: Iterable[Finding]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for f in found:
        row = [KIND_LABELS[f.kind], f.id, f.severity, f.package, f.installed, f.fixed, f.status, f.target, f.title]
        writer.writerow([_csv_safe(value) for value in [*row, f.url]])
    return buffer.getvalue()


def _csv_safe(value: str) -> str:
    """Neutralise spreadsheet formulas: report text comes from image contents and advisories."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@dataclass(frozen=True)
class ArtifactFacts:
    """What the report says about the image it scanned."""

    name: str
    image_id: str
    repo_digests: tuple[str, ...]
    repo_tags: tuple[str, ...]
    os: str
    created_at: str


def artifact_facts(report: dict) -> ArtifactFacts:
    metadata = report.get("Metadata") or {}
    os_info = metadata.get("OS") or {}
    os_name = " ".join(part for part in (os_info.get("Family", ""), os_info.get("Name", "")) if part)
    return ArtifactFacts(
        name=str(report.get("ArtifactName", "")),
        image_id=str(metadata.get("ImageID", "")),
        repo_digests=tuple(metadata.get("RepoDigests") or ()),
        repo_tags=tuple(metadata.get("RepoTags") or ()),
        os=os_name,
        created_at=str(report.get("CreatedAt", "")),
    )

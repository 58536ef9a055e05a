"""Parsing, summaries and gate policies on real Trivy reports (../shared/fixtures/trivy, Trivy's golden files)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from scanning import trivy
from scanning.gate import absolute_blockers, differential_blockers
from scanning.report import Finding, artifact_facts, at_or_above, count, csv_text, findings
from tests.support.trivy_env import TRIVY_FIXTURES


def load(name: str) -> dict:
    return trivy.parse_report((TRIVY_FIXTURES / name).read_bytes())


def test_alpine_report_counts_four_medium_vulnerabilities_and_nothing_else():
    counts = count(findings(load("alpine-310.json")))
    assert counts["vulnerabilities"] == {"CRITICAL": 0, "HIGH": 0, "MEDIUM": 4, "LOW": 0, "UNKNOWN": 0}
    assert sum(counts["secrets"].values()) == sum(counts["misconfigurations"].values()) == 0


def test_alpine_findings_carry_package_installed_and_fixed_versions():
    found = findings(load("alpine-310.json"))
    rows = {(f.id, f.package, f.installed, f.fixed, f.status) for f in found}
    assert rows == {
        ("CVE-2019-1549", "libcrypto1.1", "1.1.1c-r0", "1.1.1d-r0", "fixed"),
        ("CVE-2019-1551", "libcrypto1.1", "1.1.1c-r0", "1.1.1d-r2", "fixed"),
        ("CVE-2019-1549", "libssl1.1", "1.1.1c-r0", "1.1.1d-r0", "fixed"),
        ("CVE-2019-1551", "libssl1.1", "1.1.1c-r0", "1.1.1d-r2", "fixed"),
    }
    assert all(f.url.startswith("https://") for f in found)


def test_centos_report_keeps_unfixed_vulnerabilities_without_a_fixed_version():
    found = findings(load("centos-7.json"))
    assert count(found)["vulnerabilities"] == {"CRITICAL": 0, "HIGH": 0, "MEDIUM": 1, "LOW": 2, "UNKNOWN": 0}
    bash = next(f for f in found if f.package == "bash")
    assert (bash.id, bash.fixed, bash.status) == ("CVE-2019-18276", "", "will_not_fix")
    assert "no fix yet" in bash.describe()


def test_findings_are_ordered_most_severe_first():
    found = findings(load("debian-buster.json"))
    assert [(f.id, f.severity) for f in found] == [("CVE-2019-18224", "CRITICAL"), ("CVE-2019-18276", "LOW")]


def test_secrets_report_counts_secrets_by_severity_with_file_and_line():
    found = findings(load("secrets.json"))
    counts = count(found)
    assert counts["secrets"] == {"CRITICAL": 1, "HIGH": 1, "MEDIUM": 0, "LOW": 0, "UNKNOWN": 0}
    assert sum(counts["vulnerabilities"].values()) == 0
    assert [(f.id, f.target) for f in found] == [("aws-access-key-id", "deploy.sh:3"), ("mysecret", "deploy.sh:7")]


def test_artifact_facts_name_the_os_and_image():
    facts = artifact_facts(load("alpine-310.json"))
    assert facts.os == "alpine 3.10.2"
    assert facts.image_id == "sha256:961769676411f082461f9ef46626dd7a2d1e2b2a38e6a44364bcbecf51e66dd4"
    assert facts.repo_tags == ("ghcr.io/aquasecurity/trivy-test-images:alpine-310",)


def test_at_or_above_uses_severity_order():
    found = findings(load("centos-7.json"))
    assert {f.id for f in at_or_above(found, "MEDIUM")} == {"CVE-2019-1559"}
    assert len(at_or_above(found, "LOW")) == 3
    assert at_or_above(found, "HIGH") == []


def test_absolute_policy_refuses_only_above_the_threshold():
    found = findings(load("debian-buster.json"))
    assert [f.id for f in absolute_blockers(found, severity="CRITICAL", threshold=0)] == ["CVE-2019-18224"]
    assert absolute_blockers(found, severity="CRITICAL", threshold=1) == []
    assert len(absolute_blockers(found, severity="LOW", threshold=1)) == 2


def test_differential_policy_ignores_findings_the_running_image_already_has():
    debian = findings(load("debian-buster.json"))
    assert differential_blockers(debian, debian, severity="LOW", threshold=0) == []
    new = differential_blockers(debian, findings(load("alpine-310.json")), severity="CRITICAL", threshold=0)
    assert [f.id for f in new] == ["CVE-2019-18224"]


def test_differential_policy_matches_a_cve_by_package_across_versions():
    # bash CVE-2019-18276 is in both (other versions): not new. The openssl ones are.
    centos, debian = findings(load("centos-7.json")), findings(load("debian-buster.json"))
    new = differential_blockers(centos, debian, severity="LOW", threshold=0)
    assert sorted((f.id, f.package) for f in new) == [
        ("CVE-2018-0734", "openssl-libs"),
        ("CVE-2019-1559", "openssl-libs"),
    ]


def test_csv_export_has_one_row_per_finding_with_fixed_versions():
    rows = list(csv.DictReader(io.StringIO(csv_text(findings(load("alpine-310.json"))))))
    assert len(rows) == 4
    assert {(r["id"], r["package"], r["fixed_version"], r["severity"]) for r in rows} >= {
        ("CVE-2019-1551", "libssl1.1", "1.1.1d-r2", "MEDIUM")
    }
    assert {r["kind"] for r in rows} == {"vulnerability"}


def test_csv_export_neutralises_spreadsheet_formulas():
    finding = Finding(kind="secrets", id="rule", severity="HIGH", title='=HYPERLINK("http://x")', target="a")
    row = next(csv.DictReader(io.StringIO(csv_text([finding]))))
    assert row["title"].startswith("'=")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "wrote no report"),
        (b'{"SchemaVersion": 2, "Results": [', "not valid JSON"),
        (b"[1, 2]", "no SchemaVersion"),
        (json.dumps({"SchemaVersion": 1}).encode(), "schema version 1"),
        (json.dumps({"SchemaVersion": 2, "Results": {"x": 1}}).encode(), "no list of results"),
    ],
)
def test_malformed_reports_are_refused_with_a_reason(raw, message):
    with pytest.raises(trivy.MalformedReport, match=message):
        trivy.parse_report(raw)


def test_finding_round_trips_through_its_stored_form():
    finding = findings(load("debian-buster.json"))[0]
    assert Finding.from_dict(json.loads(json.dumps(finding.to_dict()))) == finding

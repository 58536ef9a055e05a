"""Scanning fixtures: one planted Trivy database and one set of images per session, shared by every test."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.docker_env import build_and_push
from tests.support.trivy_env import SCAN_IMAGES, SECRET_IMAGE, build_trivy_db


@dataclass(frozen=True)
class BuiltImage:
    reference: str
    image_id: str
    tag: str


@pytest.fixture(scope="session")
def trivy_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Trivy cache dir holding only the planted advisories (tests/support/trivy_env.ADVISORIES)."""
    return build_trivy_db(tmp_path_factory.mktemp("trivy-db"))


@pytest.fixture
def scanning_on(settings, trivy_db: Path):
    """Scanning enabled with the wheel's Trivy, offline, on the planted database; the gate off."""
    settings.SCAN_ENABLED = True
    settings.TRIVY_PATH = ""
    settings.SCAN_CACHE_DIR = trivy_db
    settings.SCAN_SKIP_DB_UPDATE = True
    settings.SCAN_OFFLINE = True
    settings.SCAN_DB_REPOSITORY = ""
    settings.SCAN_SCANNERS = ["vuln", "secret"]
    settings.SCAN_SEVERITIES = ["UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"]
    settings.SCAN_TIMEOUT = 120
    settings.SCAN_CONCURRENCY = 2
    settings.SCAN_REUSE_SECONDS = 3600
    settings.SCAN_GATE = "off"
    settings.SCAN_GATE_SEVERITY = "CRITICAL"
    settings.SCAN_GATE_THRESHOLD = 0
    settings.SCAN_GATE_ON_ERROR = "block"
    settings.TRIVY_SERVER = ""
    settings.TRIVY_TOKEN = ""
    return settings


@pytest.fixture(scope="session")
def scan_images(registry, test_images) -> dict[str, BuiltImage]:
    """scan/app:<tag> for every tag of SCAN_IMAGES, and scan/secret:1.0.0, built once and pushed."""
    images = {}
    for tag, spec in SCAN_IMAGES.items():
        reference = f"{registry.host}/scan/app:{tag}"
        images[tag] = BuiltImage(reference, build_and_push(reference, spec), tag)
    reference = f"{registry.host}/scan/secret:1.0.0"
    images["secret"] = BuiltImage(reference, build_and_push(reference, SECRET_IMAGE), "1.0.0")
    return images

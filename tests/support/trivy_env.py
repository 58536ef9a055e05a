"""Real Trivy for tests: a tiny vulnerability database holding only planted advisories, the images that
match it, stand-in executables for bad input, and a `trivy server` for client/server mode.

The database is built by ../shared/tools/trivy-db/make_trivy_db.py; Trivy never downloads anything
(`--skip-db-update`, `--offline-scan`, cache dir = the planted database).
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from tests.support.docker_env import ImageSpec

ROOT = Path(__file__).resolve().parents[2]


def shared_dir() -> Path:
    """The project's shared/ folder: beside the repository (../shared), or beside a worktree's parent."""
    for candidate in (ROOT.parent / "shared", ROOT.parent.parent / "shared"):
        if (candidate / "tools" / "trivy-db").is_dir():
            return candidate
    raise RuntimeError(f"no shared/ folder beside {ROOT}: it holds the Trivy database tool and report fixtures")


MAKE_TRIVY_DB = shared_dir() / "tools" / "trivy-db" / "make_trivy_db.py"
TRIVY_FIXTURES = shared_dir() / "fixtures" / "trivy"

# The planted advisories: exactly what a scan may find.
ADVISORIES = [
    {
        "platform": "alpine 3.19",
        "package": "busybox",
        "id": "CVE-2099-1001",
        "fixed": "1.36.1-r16",
        "severity": "CRITICAL",
        "title": "busybox: planted critical test vulnerability",
    },
    {
        "platform": "alpine 3.19",
        "package": "busybox",
        "id": "CVE-2099-1003",
        "fixed": "1.36.1-r16",
        "severity": "LOW",
        "title": "busybox: planted low test vulnerability",
    },
    {
        "platform": "alpine 3.19",
        "package": "musl",
        "id": "CVE-2099-1002",
        "fixed": "1.2.4-r3",
        "severity": "HIGH",
        "title": "musl: planted high test vulnerability",
    },
    {
        "platform": "alpine 3.19",
        "package": "zlib",
        "id": "CVE-2099-1004",
        "fixed": "",
        "severity": "CRITICAL",
        "title": "zlib: planted critical test vulnerability, no fix yet",
    },
]

VULNERABLE = (("busybox", "1.36.1-r15"), ("musl", "1.2.4-r2"))
FIXED = (("busybox", "1.36.1-r16"), ("musl", "1.2.4-r3"))

# Tags of the scan test repository: what each one holds, and what Trivy must find in it.
SCAN_IMAGES = {
    "0.9.0": ImageSpec("0.9.0"),  # plain busybox: no OS Trivy knows, nothing to find
    "1.0.0": ImageSpec("1.0.0", alpine_packages=VULNERABLE),  # CVE-2099-1001 (C), -1002 (H), -1003 (L)
    "1.0.1": ImageSpec("1.0.1", alpine_packages=VULNERABLE),  # the same findings as 1.0.0
    "1.1.0": ImageSpec("1.1.0", alpine_packages=FIXED),  # every planted advisory fixed
    "1.2.0": ImageSpec("1.2.0", alpine_packages=(*FIXED, ("zlib", "1.3-r0"))),  # a new critical: CVE-2099-1004
}


def planted_secret_files() -> tuple[tuple[str, str], ...]:
    """An AWS access key ID and a GitHub token that Trivy's built-in rules flag (assembled here, never
    written literally in the repository, so no secret scanner flags our source)."""
    aws_key = "AKIA" + "Q3V5RXK7ZJ2M4T6W"
    github_token = "ghp_" + "A1b2C3d4E5f6G7h8I9j0" + "K1l2M3n4O5p6Q7r8"
    script = f"#!/bin/sh\nexport AWS_ACCESS_KEY_ID={aws_key}\nexport GITHUB_TOKEN={github_token}\nexec /app/run\n"
    return (("app/deploy.sh", script),)


SECRET_IMAGE = ImageSpec("secret", files=planted_secret_files())


def build_trivy_db(directory: Path, advisories: list[dict] = ADVISORIES) -> Path:
    """Write a Trivy cache dir holding only `advisories`; return it."""
    spec = directory / "advisories.json"
    spec.write_text(json.dumps(advisories))
    cache = directory / "cache"
    subprocess.run([sys.executable, str(MAKE_TRIVY_DB), str(spec), str(cache)], check=True, timeout=60)
    return cache


STAND_INS = {
    # exits non-zero with Trivy's kind of fatal line
    "nonzero": 'echo "2099-01-01T00:00:00Z\tFATAL\tFatal error\tscan failed: planted failure" >&2; exit 2',
    # never finishes (its child keeps the output pipes open: the whole process group must be killed)
    "hang": "sleep 120",
    # writes a truncated report
    "malformed": (
        'out=""; while [ $# -gt 0 ]; do [ "$1" = --output ] && out="$2"; shift; done; '
        'printf \'{"SchemaVersion": 2, "Results": [\' > "$out"'
    ),
}


def write_stand_in(directory: Path, behaviour: str) -> Path:
    """A `trivy` that answers `version` like Trivy and misbehaves on `image` (bad input, not a Trivy mock)."""
    path = directory / f"trivy-{behaviour}"
    path.write_text(
        f'#!/bin/sh\nif [ "$1" = version ]; then echo \'{{"Version":"0.59.1"}}\'; exit 0; fi\n{STAND_INS[behaviour]}\n'
    )
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


@dataclass(frozen=True)
class TrivyServer:
    url: str
    token: str


@contextmanager
def trivy_server(executable: str, cache_dir: Path, port: int, token: str, log_path: Path) -> Iterator[TrivyServer]:
    """`trivy server` on 127.0.0.1:port serving the planted database; stopped on exit."""
    url = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [executable, "server", "--listen", f"127.0.0.1:{port}", "--skip-db-update", "--cache-dir", str(cache_dir)],
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(cache_dir), "TRIVY_TOKEN": token},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if requests.get(f"{url}/healthz", timeout=1).ok:
                        break
                except requests.RequestException:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"trivy server did not start: {log_path.read_text(errors='replace')[-2000:]}")
                time.sleep(0.1)
            yield TrivyServer(url=url, token=token)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

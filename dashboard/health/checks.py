"""The health checks: each returns one `CheckResult` (one line for `manage.py doctor`) and the fix if it failed.

They do real I/O (Docker, Redis, the database, disks, a registry): the worker runs them on a schedule and
stores the results (health.services); the web process only reads those rows.
"""

from __future__ import annotations

import shutil
import socket
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import redis
import requests
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from deployments import docker

OK, FAILED, SKIPPED = "ok", "failed", "skipped"
GIB = 1024**3
CLOCK_TIMEOUT = 5.0


@dataclass(frozen=True)
class CheckResult:
    name: str
    label: str
    status: str
    summary: str
    fix: str = ""

    @property
    def failed(self) -> bool:
        return self.status == FAILED


def check_docker() -> CheckResult:
    address = settings.DOCKER_HOST or "the local socket (DOCKER_HOST unset)"
    try:
        version = docker.engine().version()
    except Exception as exc:
        docker.engine.cache_clear()  # reconnect next time
        return CheckResult(
            "docker",
            "Docker",
            FAILED,
            f"cannot reach the Docker engine at {address}: {_short(exc)}",
            "start Docker, or set DOCKER_HOST to its address; the updater's user needs the socket "
            "(root, or the docker group)",
        )
    return CheckResult(
        "docker", "Docker", OK, f"Docker {version.get('Version')}, API {version.get('ApiVersion')} at {address}"
    )


def check_compose() -> CheckResult:
    docker.compose_command.cache_clear()  # detect what is installed now
    try:
        command = docker.compose_command()
    except docker.DockerError as exc:
        return CheckResult(
            "compose",
            "Compose",
            FAILED,
            str(exc),
            "install the Compose plugin (docker-compose-plugin) or docker-compose "
            "(Debian/Ubuntu: apt-get install docker-compose), or set UPDATER_COMPOSE_COMMAND to its path",
        )
    major = "v1" if command.version.lstrip("v").startswith("1.") else "v2"
    return CheckResult("compose", "Compose", OK, f"Compose {major} ({command.describe()})")


def check_redis() -> CheckResult:
    shown = _without_password(settings.REDIS_URL)
    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=3, socket_timeout=3, **settings.REDIS_CLIENT_OPTIONS
        )
        with client:
            version = client.info("server").get("redis_version", "?")
    except redis.RedisError as exc:
        return CheckResult(
            "redis",
            "Redis",
            FAILED,
            f"cannot reach Redis at {shown}: {_short(exc)}",
            "scripts/run.sh runs a private Redis while the updater runs (is it running?); "
            "or set REDIS_URL to a running server",
        )
    return CheckResult("redis", "Redis", OK, f"Redis {version} at {shown}")


def check_database() -> CheckResult:
    name = str(connection.settings_dict.get("NAME"))
    try:
        connection.ensure_connection()
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except Exception as exc:
        return CheckResult(
            "database",
            "Database",
            FAILED,
            f"cannot use the {connection.vendor} database {name}: {_short(exc)}",
            "check DATABASE_URL and that the database server is up",
        )
    if pending:
        names = ", ".join(f"{migration.app_label}.{migration.name}" for migration, _ in pending[:5])
        more = f" and {len(pending) - 5} more" if len(pending) > 5 else ""
        return CheckResult(
            "database",
            "Database",
            FAILED,
            f"{len(pending)} migrations not applied on the {connection.vendor} database {name}: {names}{more}",
            "run `.venv/bin/python manage.py migrate` (scripts/run.sh does it at start)",
        )
    return CheckResult("database", "Database", OK, f"{connection.vendor} database {name}, migrations applied")


def check_disk(name: str, label: str, path: Path, *, minimum: int, fix: str) -> CheckResult:
    try:
        usage = shutil.disk_usage(path)
    except OSError as exc:
        return CheckResult(name, label, SKIPPED, f"{path} is not visible from here ({exc.strerror}): not checked")
    summary = f"{path}: {usage.free / GIB:.1f} GiB free of {usage.total / GIB:.0f} GiB"
    if usage.free < minimum:
        return CheckResult(name, label, FAILED, f"{summary}, under the {minimum / GIB:.1f} GiB minimum", fix)
    return CheckResult(name, label, OK, summary)


def check_data_disk() -> CheckResult:
    return check_disk(
        "disk_data",
        "Data disk",
        Path(settings.DATA_DIR),
        minimum=settings.HEALTH_MIN_FREE_DISK_MB * 1024**2,
        fix="free space on that disk, or move UPDATER_DATA_DIR (the SQLite database and Redis data live there)",
    )


def check_docker_disk() -> CheckResult:
    try:
        root = Path(docker.engine().info()["DockerRootDir"])
    except Exception as exc:
        return CheckResult("disk_docker", "Docker disk", SKIPPED, f"Docker's root not known: {_short(exc)}")
    return check_disk(
        "disk_docker",
        "Docker disk",
        root,
        minimum=settings.HEALTH_MIN_FREE_DISK_MB * 1024**2,
        fix="remove unused images (`docker image prune`) or grow the disk: pulls fail when it is full",
    )


def check_secrets() -> CheckResult:
    """Every stored secret (registry secrets, webhook secrets, notification URLs) decrypts with
    UPDATER_ENCRYPTION_KEYS."""
    failing, total = _undecryptable_secrets()
    if failing:
        return CheckResult(
            "secrets",
            "Secrets",
            FAILED,
            f"{len(failing)} of {total} stored secrets cannot be decrypted: {', '.join(failing)}",
            "put the key they were encrypted with back into UPDATER_ENCRYPTION_KEYS (after the current one), "
            "or enter those secrets again in the admin (registries, webhooks, notification channels)",
        )
    if not total:
        return CheckResult("secrets", "Secrets", OK, "no secrets stored")
    return CheckResult("secrets", "Secrets", OK, f"{total} stored secrets decrypt")


def _undecryptable_secrets() -> tuple[list[str], int]:
    """(what fails, by its row's name, never the secret; how many were tried), over every sealed field."""
    from django.apps import apps

    from registries.secrets import SEALED_FIELDS, CredentialError, decrypt_secret

    failing, total = [], 0
    for sealed in SEALED_FIELDS:
        rows = apps.get_model(sealed.model).objects.exclude(**{sealed.field: ""})
        for name, token in rows.values_list(sealed.name_field, sealed.field):
            total += 1
            try:
                decrypt_secret(token)
            except CredentialError:
                failing.append(f"{sealed.what} of {name}")
    return failing, total


def check_clock() -> CheckResult:
    """Compare the local clock with the `Date` a registry answers with (tokens and TLS depend on it)."""
    host = _registry_to_ask()
    if host is None:
        return CheckResult("clock", "Clock", SKIPPED, "no registry known yet to compare the clock with")
    try:
        theirs = _registry_date(host)
    except (requests.RequestException, ValueError, TypeError) as exc:
        return CheckResult("clock", "Clock", SKIPPED, f"could not read the time of {host}: {_short(exc)}")
    skew = (datetime.now(UTC) - theirs).total_seconds()
    where = "ahead of" if skew > 0 else "behind"
    if abs(skew) > settings.HEALTH_MAX_CLOCK_SKEW:
        return CheckResult(
            "clock",
            "Clock",
            FAILED,
            f"this host's clock is {abs(skew):.0f} s {where} {host}",
            "synchronise the clock (e.g. `timedatectl set-ntp true`, chrony): registry tokens and TLS "
            "certificates are checked against it",
        )
    return CheckResult("clock", "Clock", OK, f"within {abs(skew):.0f} s of {host}")


def _registry_to_ask() -> str | None:
    """A registry the updater uses: a configured one first, else the one most services pull from."""
    from deployments.models import Service
    from registries.models import Registry

    configured = Registry.objects.order_by("host").values_list("host", flat=True).first()
    if configured:
        return configured
    repositories = Service.objects.values_list("repository", flat=True)
    registries = Counter(repository.split("/", 1)[0] for repository in repositories)
    return max(sorted(registries), key=registries.__getitem__) if registries else None


def _registry_date(host: str) -> datetime:
    """GET /v2/ (any status: a 401 carries a Date too); https, or http for loopback and insecure hosts."""
    from registries.models import Registry
    from registries.reference import DOCKER_HUB_ALIASES, DOCKER_HUB_API_HOST

    api_host = DOCKER_HUB_API_HOST if host in DOCKER_HUB_ALIASES else host
    schemes = ["https"]
    if _is_loopback(api_host) or Registry.objects.filter(host=host, insecure=True).exists():
        schemes.append("http")
    for scheme in schemes:
        try:
            response = requests.get(f"{scheme}://{api_host}/v2/", timeout=CLOCK_TIMEOUT, allow_redirects=False)
        except requests.RequestException:
            if scheme == schemes[-1]:
                raise
            continue
        return parsedate_to_datetime(response.headers["Date"])
    raise ValueError(f"no answer from {host}")


CHECKS: tuple[Callable[[], CheckResult], ...] = (
    check_docker,
    check_compose,
    check_redis,
    check_database,
    check_data_disk,
    check_docker_disk,
    check_secrets,
    check_clock,
)


# A central server without an engine of its own (UPDATER_LOCAL_DOCKER=false) has nothing for these to check.
ENGINE_CHECKS = {check_docker: ("docker", "Docker"), check_compose: ("compose", "Compose"),
                 check_docker_disk: ("disk_docker", "Docker disk")}  # fmt: skip


def run_all() -> list[CheckResult]:
    """Every check, in order; the database-backed ones are skipped when the database is not usable."""
    results = []
    for check in CHECKS:
        if check in ENGINE_CHECKS and not settings.LOCAL_HOST:
            name, label = ENGINE_CHECKS[check]
            results.append(CheckResult(name, label, SKIPPED, "no engine here: the fleet's agents have them"))
            continue
        if check in (check_secrets, check_clock) and any(r.name == "database" and r.failed for r in results):
            results.append(CheckResult(check.__name__[6:], check.__name__[6:].title(), SKIPPED, "needs the database"))
            continue
        try:
            results.append(check())
        except Exception as exc:  # a check must never stop the others
            name = check.__name__.removeprefix("check_")
            results.append(CheckResult(name, name.title(), FAILED, f"the check itself failed: {_short(exc)}"))
    return results


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
    return text[:300]


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit((parts.scheme, user + netloc, parts.path, parts.query, parts.fragment))


def _is_loopback(host: str) -> bool:
    name = host.rsplit(":", 1)[0].strip("[]")
    if name == "localhost":
        return True
    try:
        return socket.inet_aton(name)[0] == 127
    except OSError:
        return name == "::1"

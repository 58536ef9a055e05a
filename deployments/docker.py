"""The only place that talks to Docker: the Compose CLI (v2 plugin or standalone v1) and the Engine API.

Compose runs as an argument list (never a shell) with a minimal environment: a private `DOCKER_CONFIG`
holding only the target registry's credentials, `DOCKER_HOST`/TLS settings, and nothing else, so the
user's `~/.docker` and stray `COMPOSE_*` or interpolation variables never leak into a deploy.
"""

from __future__ import annotations

import base64
import ctypes
import ctypes.util
import functools
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import docker
import docker.errors
import requests
from django.conf import settings

logger = logging.getLogger(__name__)

OUTPUT_LIMIT = 64 * 1024
_PASSED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH")
LABEL_PROJECT = "com.docker.compose.project"
LABEL_SERVICE = "com.docker.compose.service"
LABEL_WORKING_DIR = "com.docker.compose.project.working_dir"
LABEL_CONFIG_FILES = "com.docker.compose.project.config_files"
LABEL_ONEOFF = "com.docker.compose.oneoff"


class DockerError(Exception):
    """The Docker engine could not be reached or refused a request."""


class ComposeError(DockerError):
    """A compose command failed; `output` holds its (redacted, truncated) output."""

    def __init__(self, message: str, output: str = "") -> None:
        super().__init__(message)
        self.output = output


@dataclass(frozen=True)
class ComposeCommand:
    argv: tuple[str, ...]
    version: str

    def describe(self) -> str:
        return f"{' '.join(self.argv)} (version {self.version})"


@dataclass(frozen=True)
class ComposeTarget:
    """Enough to address a project exactly as it was started: name, directory and `-f` files."""

    project: str
    working_dir: str
    config_files: tuple[str, ...]

    def base_args(self) -> list[str]:
        args = ["-p", self.project, "--project-directory", self.working_dir]
        for path in self.config_files:
            args += ["-f", path]
        return args


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    returncode: int
    output: str
    seconds: float

    def describe(self) -> str:
        return f"$ {' '.join(self.argv)}  (exit {self.returncode}, {self.seconds:.1f}s)\n{self.output}".rstrip()


@dataclass(frozen=True)
class ContainerInfo:
    id: str
    name: str
    image_id: str
    image_ref: str
    status: str  # created | running | restarting | exited | paused | dead
    health: str  # "" when the container has no healthcheck
    restart_count: int
    exit_code: int
    started_at: str
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def project(self) -> str:
        return self.labels.get(LABEL_PROJECT, "")

    @property
    def service(self) -> str:
        return self.labels.get(LABEL_SERVICE, "")

    @property
    def is_oneoff(self) -> bool:
        return self.labels.get(LABEL_ONEOFF, "False").lower() == "true"

    @property
    def working_dir(self) -> str:
        return self.labels.get(LABEL_WORKING_DIR, "")

    @property
    def config_files(self) -> tuple[str, ...]:
        """Absolute `-f` paths (Compose v1 records them relative to the working dir)."""
        raw = self.labels.get(LABEL_CONFIG_FILES, "")
        paths = [item for item in raw.split(",") if item]
        return tuple(str(Path(self.working_dir, item)) if not os.path.isabs(item) else item for item in paths)


@dataclass(frozen=True)
class ImageInfo:
    id: str
    repo_tags: tuple[str, ...]
    repo_digests: tuple[str, ...]


# --- Compose CLI ---------------------------------------------------------------------------


# Where the Docker CLI looks for the Compose v2 plugin. Compose runs with a private DOCKER_CONFIG, so
# the plugin is found here once and then run directly (a v2 plugin binary also works standalone).
PLUGIN_DIRS = (
    "~/.docker/cli-plugins",
    "/usr/local/lib/docker/cli-plugins",
    "/usr/local/libexec/docker/cli-plugins",
    "/usr/lib/docker/cli-plugins",
    "/usr/libexec/docker/cli-plugins",
)


_detected: dict[str, ComposeCommand] = {}


def compose_command(on_tick: Callable[[], None] | None = None) -> ComposeCommand:
    """Detect Compose once per process: the v2 plugin first, then a standalone `docker-compose` (v1 or v2).

    `UPDATER_COMPOSE_COMMAND` can force `docker compose`, `docker-compose` or a path to a compose binary.
    `on_tick` is called while a `compose version` probe runs (a deploy's heartbeat).
    """
    configured = settings.COMPOSE_COMMAND
    if configured in _detected:
        return _detected[configured]
    if configured == "auto":
        candidates = [*_plugin_candidates(), "docker-compose"]
    elif configured == "docker compose":
        candidates = _plugin_candidates()
    else:
        candidates = [configured]
    for candidate in candidates:
        version = _compose_version(candidate, on_tick)
        if version:
            _detected[configured] = ComposeCommand(argv=(candidate,), version=version)
            return _detected[configured]
    raise DockerError(
        "Docker Compose not found: install the compose plugin (`docker compose`) or `docker-compose`, "
        f"or set UPDATER_COMPOSE_COMMAND (now {configured!r})"
    )


compose_command.cache_clear = _detected.clear  # type: ignore[attr-defined]  # as with functools.cache


def _plugin_candidates() -> list[str]:
    directories = [os.environ["DOCKER_CONFIG"] + "/cli-plugins"] if os.environ.get("DOCKER_CONFIG") else []
    directories += [os.path.expanduser(directory) for directory in PLUGIN_DIRS]
    paths = [os.path.join(directory, "docker-compose") for directory in directories]
    return [path for path in paths if os.access(path, os.X_OK)]


def _compose_version(executable: str, on_tick: Callable[[], None] | None = None) -> str:
    if not (os.path.isabs(executable) or shutil.which(executable)):
        return ""
    try:
        probe = run_command(
            [executable, "version", "--short"],
            env=_base_env(),
            timeout=settings.COMPOSE_VERSION_TIMEOUT,
            on_tick=on_tick,
            merge_stderr=False,
        )
    except (OSError, ComposeError) as exc:
        logger.warning("compose candidate %s: %s", executable, exc)
        return ""
    return probe.output.strip() if probe.returncode == 0 else ""


def interpolation_environ() -> dict[str, str]:
    """The variables Compose sees besides `.env` (the compose-file editor needs the same view)."""
    return _base_env()


def _base_env() -> dict[str, str]:
    env = {key: os.environ[key] for key in _PASSED_ENV if key in os.environ}
    if settings.DOCKER_HOST:
        env["DOCKER_HOST"] = settings.DOCKER_HOST
    return env


@contextmanager
def private_docker_config(auths: dict | None) -> Iterator[str]:
    """A temporary DOCKER_CONFIG directory (mode 0700, file 0600) holding only `auths`; removed afterwards."""
    directory = tempfile.mkdtemp(prefix="updater-docker-config-")
    try:
        path = Path(directory, "config.json")
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump({"auths": auths or {}}, handle)
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def redact(text: str, secrets: Sequence[str]) -> str:
    """Replace each exact secret value (and its base64 auth form) with `***`."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def auth_secrets(auths: dict | None) -> list[str]:
    """The strings in a config.json `auths` map that must never appear in stored output."""
    values: list[str] = []
    for entry in (auths or {}).values():
        encoded = entry.get("auth", "")
        values.append(encoded)
        with suppress(ValueError):
            values.append(base64.b64decode(encoded).decode().partition(":")[2])
    return values


def run_command(
    argv: Sequence[str],
    *,
    env: dict[str, str],
    timeout: float,
    on_tick: Callable[[], None] | None = None,
    secrets: Sequence[str] = (),
    tick_every: float | None = None,
    merge_stderr: bool = True,
) -> CommandResult:
    """Run `argv` (no shell), calling `on_tick` every few seconds (heartbeat); kill it on timeout.

    The child runs in its own session (a terminal's Ctrl-C does not reach it; its group is killed on
    timeout or error) and never outlives this process: on Linux it gets SIGKILL when its parent dies,
    so a worker killed by the hard time limit or OOM leaves no Compose racing the reconciler's restore.
    """
    if tick_every is None:  # often enough that a deploy's heartbeat never looks stale
        tick_every = min(5.0, settings.DEPLOY_STALE_AFTER / 4)
    started = time.monotonic()
    with tempfile.TemporaryFile() as sink:
        process = subprocess.Popen(  # argument list, never shell=True
            list(argv),
            stdout=sink,
            stderr=subprocess.STDOUT if merge_stderr else subprocess.DEVNULL,
            env=env,
            start_new_session=True,
            preexec_fn=_die_with_parent(),  # only a prctl syscall between fork and exec
        )
        next_tick = started + tick_every
        try:
            while process.poll() is None:
                now = time.monotonic()
                if now - started > timeout:
                    _kill_group(process)
                    raise ComposeError(
                        f"{' '.join(argv[:3])} … timed out after {timeout:.0f}s", _read_tail(sink, secrets)
                    )
                if on_tick and now >= next_tick:
                    on_tick()
                    next_tick = now + tick_every
                time.sleep(0.1)
        except BaseException:
            _kill_group(process)
            raise
        output = _read_tail(sink, secrets)
    return CommandResult(tuple(argv), process.returncode, output, time.monotonic() - started)


PR_SET_PDEATHSIG = 1


@functools.cache
def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    return libc.prctl


def _die_with_parent() -> Callable[[], None] | None:
    """A preexec function giving the child SIGKILL when this process dies (Linux PR_SET_PDEATHSIG)."""
    prctl = _prctl()
    if prctl is None:
        return None
    parent = os.getpid()

    def arm() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the signal was armed
            os._exit(1)

    return arm


def _kill_group(process: subprocess.Popen) -> None:
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _read_tail(sink, secrets: Sequence[str]) -> str:
    sink.seek(0, os.SEEK_END)
    size = sink.tell()
    sink.seek(max(0, size - OUTPUT_LIMIT))
    text = sink.read().decode("utf-8", errors="replace")
    return redact(text, secrets)


def compose_run(
    target: ComposeTarget,
    args: Sequence[str],
    *,
    timeout: float,
    auths: dict | None = None,
    on_tick: Callable[[], None] | None = None,
) -> CommandResult:
    """Run one compose subcommand for `target`; raise `ComposeError` (with output) on a non-zero exit."""
    command = compose_command(on_tick)
    argv = [*command.argv, *target.base_args(), *args]
    secrets = auth_secrets(auths)
    with private_docker_config(auths) as config_dir:
        env = {**_base_env(), "DOCKER_CONFIG": config_dir}
        result = run_command(argv, env=env, timeout=timeout, on_tick=on_tick, secrets=secrets)
    if result.returncode != 0:
        raise ComposeError(f"`{' '.join(args[:1])}` failed with exit code {result.returncode}", result.describe())
    return result


def compose_config_check(target: ComposeTarget, *, on_tick: Callable[[], None] | None = None) -> CommandResult:
    return compose_run(target, ["config", "-q"], timeout=settings.COMPOSE_TIMEOUT, on_tick=on_tick)


def compose_pull(
    target: ComposeTarget, service: str, *, auths: dict | None, on_tick: Callable[[], None] | None = None
) -> CommandResult:
    return compose_run(target, ["pull", service], timeout=settings.PULL_TIMEOUT, auths=auths, on_tick=on_tick)


def compose_up(
    target: ComposeTarget, service: str, *, force_recreate: bool, on_tick: Callable[[], None] | None = None
) -> CommandResult:
    args = ["up", "-d", "--no-deps", "--no-build"]
    if force_recreate:
        args.append("--force-recreate")
    args.append(service)
    return compose_run(target, args, timeout=settings.COMPOSE_TIMEOUT, on_tick=on_tick)


# --- Engine API ------------------------------------------------------------------------------

# What the Engine client raises: docker-py's own errors, and requests' when the socket is gone or the
# connection drops (a daemon restarting), which are not DockerExceptions.
ENGINE_ERRORS = (docker.errors.DockerException, requests.RequestException)


@functools.cache
def engine() -> docker.DockerClient:
    try:
        if settings.DOCKER_HOST:
            return docker.DockerClient(base_url=settings.DOCKER_HOST, version="auto", timeout=30)
        return docker.from_env(version="auto", timeout=30)
    except ENGINE_ERRORS as exc:
        raise DockerError(f"cannot reach the Docker engine: {exc}") from None


def engine_version() -> dict[str, str]:
    """The engine's version, API version and ID (what a host's agent reports)."""
    try:
        version = engine().api.version()
        info = engine().api.info()
    except ENGINE_ERRORS as exc:
        raise DockerError(f"cannot reach the Docker engine: {exc}") from None
    return {
        "version": str(version.get("Version", "")),
        "api_version": str(version.get("ApiVersion", "")),
        "engine_id": str(info.get("ID", "")),
    }


def wait_for_engine(timeout: float, *, on_tick: Callable[[], None] | None = None) -> float:
    """Ping the engine until it answers (a daemon restarting takes seconds); return the seconds waited.

    Raises `DockerError` if it has not answered within `timeout`. `on_tick` runs between attempts.
    """
    started = time.monotonic()
    while True:
        try:
            engine().api.ping()
            return time.monotonic() - started
        except (DockerError, *ENGINE_ERRORS) as exc:
            if time.monotonic() - started >= timeout:
                raise DockerError(f"the Docker engine did not answer for {timeout:.0f}s: {exc}") from None
        if on_tick:
            on_tick()
        time.sleep(1)


def _container_info(attrs: dict) -> ContainerInfo:
    state = attrs.get("State", {})
    config = attrs.get("Config", {})
    return ContainerInfo(
        id=attrs["Id"],
        name=attrs.get("Name", "").lstrip("/"),
        image_id=attrs.get("Image", ""),
        image_ref=config.get("Image", ""),
        status=state.get("Status", ""),
        health=(state.get("Health") or {}).get("Status", ""),
        restart_count=int(attrs.get("RestartCount", 0)),
        exit_code=int(state.get("ExitCode", 0)),
        started_at=state.get("StartedAt", ""),
        labels=dict(config.get("Labels") or {}),
    )


def list_compose_containers(project: str | None = None, service: str | None = None) -> list[ContainerInfo]:
    """Compose-managed containers (all states, one-off `run` containers excluded)."""
    filters = [LABEL_PROJECT if project is None else f"{LABEL_PROJECT}={project}"]
    if service is not None:
        filters.append(f"{LABEL_SERVICE}={service}")
    try:
        summaries = engine().api.containers(all=True, filters={"label": filters})
        infos = []
        for summary in summaries:
            try:
                infos.append(_container_info(engine().api.inspect_container(summary["Id"])))
            except docker.errors.NotFound:
                continue  # removed between list and inspect (e.g. mid-recreate)
    except ENGINE_ERRORS as exc:
        raise DockerError(f"cannot list containers: {exc}") from None
    return [info for info in infos if not info.is_oneoff]


def image_info(reference: str) -> ImageInfo | None:
    """Inspect a local image by reference or ID; None when it is not on this host."""
    try:
        attrs = engine().api.inspect_image(reference)
    except docker.errors.ImageNotFound:
        return None
    except ENGINE_ERRORS as exc:
        raise DockerError(f"cannot inspect image {reference}: {exc}") from None
    return ImageInfo(
        id=attrs["Id"], repo_tags=tuple(attrs.get("RepoTags") or ()), repo_digests=tuple(attrs.get("RepoDigests") or ())
    )


def tag_image(image_id: str, repository: str, tag: str) -> None:
    """Point `repository:tag` at a local image (used to bring an earlier image back without a pull)."""
    try:
        engine().api.tag(image_id, repository, tag, force=True)
    except ENGINE_ERRORS as exc:
        raise DockerError(f"cannot tag {image_id[:19]} as {repository}:{tag}: {exc}") from None


def remove_container(container_id: str) -> None:
    """Force-remove a container (its volumes are kept)."""
    try:
        engine().api.remove_container(container_id, force=True)
    except docker.errors.NotFound:
        return
    except ENGINE_ERRORS as exc:
        raise DockerError(f"cannot remove container {container_id[:12]}: {exc}") from None


def rename_container(container_id: str, name: str) -> None:
    try:
        engine().api.rename(container_id, name)
    except ENGINE_ERRORS as exc:
        raise DockerError(f"cannot rename container {container_id[:12]} to {name}: {exc}") from None


def service_logs(project: str, service: str, *, tail: int = 40) -> str:
    """The last lines each of the service's containers printed (for a failed run's log)."""
    parts = []
    for container in list_compose_containers(project, service):
        try:
            raw = engine().api.logs(container.id, tail=tail, stdout=True, stderr=True)
        except ENGINE_ERRORS:
            continue
        text = raw.decode("utf-8", errors="replace").strip()
        parts.append(f"--- {container.name} (last {tail} lines) ---\n{text or '(no output)'}")
    return "\n".join(parts)


# --- Bulk reads for discovery ----------------------------------------------------------------

_HEALTH_IN_STATUS = re.compile(r"\((healthy|unhealthy|health: starting)\)")
_EXIT_CODE_IN_STATUS = re.compile(r"^(?:Exited|Restarting) \((-?\d+)\)")


def list_compose_container_summaries() -> list[ContainerInfo]:
    """Every Compose container (all states, one-off `run` containers excluded) from ONE list call.

    The list answer has the labels, state and image ID; health is in its `Status` text ("Up 2 minutes
    (healthy)"). Restart count and start time are not in it (`restart_count` is 0, `started_at` ""): the
    deploy's verification reads those with `list_compose_containers`. Once the tag a container was created
    from has moved to another image, the engine shows the image ID as `image_ref` (see `is_image_id`);
    `container_info` then has the reference the container was created with.
    """
    try:
        summaries = engine().api.containers(all=True, filters={"label": [LABEL_PROJECT]})
    except ENGINE_ERRORS as exc:
        raise DockerError(f"cannot list containers: {exc}") from None
    infos = [_summary_info(summary) for summary in summaries]
    return [info for info in infos if not info.is_oneoff]


def container_info(container_id: str) -> ContainerInfo | None:
    """Inspect one container; None when it is gone."""
    try:
        return _container_info(engine().api.inspect_container(container_id))
    except docker.errors.NotFound:
        return None
    except ENGINE_ERRORS as exc:
        raise DockerError(f"cannot inspect container {container_id[:12]}: {exc}") from None


def _summary_info(summary: dict) -> ContainerInfo:
    status_text = summary.get("Status") or ""
    health = _HEALTH_IN_STATUS.search(status_text)
    exit_code = _EXIT_CODE_IN_STATUS.match(status_text)
    names = summary.get("Names") or [""]
    return ContainerInfo(
        id=summary["Id"],
        name=names[0].lstrip("/"),
        image_id=summary.get("ImageID", ""),
        image_ref=summary.get("Image", ""),
        status=summary.get("State", ""),
        health=health.group(1).removeprefix("health: ") if health else "",
        restart_count=0,
        exit_code=int(exit_code.group(1)) if exit_code else 0,
        started_at="",
        labels=dict(summary.get("Labels") or {}),
    )


def is_image_id(reference: str) -> bool:
    """True for `sha256:…` or a bare 64-hex ID: what the container list shows once a tag has moved."""
    return reference.startswith("sha256:") or bool(re.fullmatch(r"[0-9a-f]{64}", reference))

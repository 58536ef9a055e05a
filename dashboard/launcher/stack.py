"""The product's processes: a private Redis (unless REDIS_URL is set), migrations, web, worker, beat."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from dashboard.launcher.config import ROOT, ConfigError, LaunchConfig, load_config
from dashboard.launcher.supervisor import Program, Supervisor, become_subreaper

logger = logging.getLogger("launcher")

REDIS_HELP = (
    "Redis is required. Set REDIS_URL to a running server, or install redis-server "
    "(Debian/Ubuntu: apt-get install redis-server; scripts/run.sh does it when run as root) "
    "and the updater starts a private one."
)
PREPARE_STEPS = (["migrate", "--noinput"], ["ensure_admin"], ["collectstatic", "--noinput", "-v", "0"])
REDIS_URL_FILE = Path("redis", "url")  # in the data dir; settings.py reads it when REDIS_URL is unset


class AlreadyRunning(Exception):
    """Another launcher holds the lock of this data directory."""


class StartupFailed(Exception):
    """A step before supervision failed; the message says which and why."""


@contextlib.contextmanager
def single_instance(config: LaunchConfig) -> Iterator[None]:
    """An flock on `<data dir>/launcher.lock`: released by the kernel however this process ends."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    path = config.data_dir / "launcher.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = path.read_text(errors="replace").strip() or "pid unknown"
        os.close(fd)
        raise AlreadyRunning(
            f"Docker Image Updater is already running with data in {config.data_dir} ({holder}). "
            "Stop it first (Ctrl-C in its terminal, or kill -TERM its pid)."
        ) from None
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}, {config.url}\n".encode())
        yield
    finally:
        os.ftruncate(fd, 0)
        os.close(fd)


class StopRequest:
    """SIGTERM, SIGINT or SIGHUP ask for a graceful stop; a second one asks to stop now."""

    def __init__(self, supervisor: Supervisor, grace: int) -> None:
        self.requested = False
        self.supervisor = supervisor
        self.grace = grace
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, self._handle)

    def _handle(self, signum: int, _frame: object) -> None:
        if self.requested:
            self.supervisor.hurry = True
            logger.warning("%s again: stopping now", signal.Signals(signum).name)
            return
        self.requested = True
        logger.info(
            "%s: stopping (a task in progress has up to %s s to finish; send it again to stop now)",
            signal.Signals(signum).name,
            self.grace,
        )


def private_redis(config: LaunchConfig) -> tuple[Program, str, int]:
    """A redis-server on a free loopback port with a random password (config file and URL file are 0600)."""
    binary = shutil.which("redis-server")
    if not binary:
        raise StartupFailed(REDIS_HELP)
    directory = config.data_dir / "redis"
    directory.mkdir(parents=True, exist_ok=True)
    port, password = _free_port(), secrets.token_hex(24)
    lines = [
        "bind 127.0.0.1",
        f"port {port}",
        f"dir {_quote(str(directory))}",
        "save 60 1",
        "appendonly no",
        "protected-mode yes",
        "daemonize no",
        "loglevel warning",
        f"requirepass {password}",
    ]
    url = f"redis://:{password}@127.0.0.1:{port}/0"
    _write_private(directory / "redis.conf", "\n".join(lines) + "\n")
    _write_private(config.data_dir / REDIS_URL_FILE, url + "\n")
    program = Program("redis", [binary, str(directory / "redis.conf")], dict(os.environ), directory)
    return program, url, port


def prepare(env: dict[str, str], stop: StopRequest) -> None:
    """Migrations, the first admin user, static files: each a short Django run before the long-lived ones."""
    for step in PREPARE_STEPS:
        if stop.requested:
            return
        result = subprocess.run([sys.executable, "manage.py", *step], env=env, cwd=ROOT, process_group=0, check=False)
        if result.returncode != 0:
            raise StartupFailed(f"manage.py {step[0]} exited with code {result.returncode}", result.returncode)


def programs(config: LaunchConfig, env: dict[str, str]) -> list[Program]:
    """Web, a worker (with beat inside it unless asked otherwise) and, with `--beat separate`, beat."""
    python, schedule = sys.executable, str(config.data_dir / "celerybeat-schedule")
    celery = [python, "-m", "celery", "-A", "updater_project"]
    web = [
        python,
        "-m",
        "dashboard.launcher.daphne_web",
        "-b",
        config.bind,
        "-p",
        str(config.port),
        "updater_project.asgi:application",
    ]
    worker = [
        *celery,
        "worker",
        "-l",
        config.log_level,
        "-n",
        "updater@%h",
        "--pool",
        config.pool,
        "--concurrency",
        str(config.concurrency),
        # One worker per host: no peers to synchronise with or to announce itself to.
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    if config.beat == "embedded":
        # A thread of the worker; with prefork, Celery's own -B (a forked process: no threads before fork).
        worker += ["--beat-thread" if config.pool == "threads" else "-B", "-s", schedule]
    result = [Program("web", web, env, ROOT), Program("worker", worker, env, ROOT)]
    if config.beat == "separate":
        result.append(Program("beat", [*celery, "beat", "-l", config.log_level, "-s", schedule], env, ROOT))
    return result


def run(config: LaunchConfig) -> int:
    become_subreaper()
    supervisor = Supervisor(reap_orphans=True)
    stop = StopRequest(supervisor, config.stop_timeout)
    env = dict(os.environ)
    try:
        if not config.redis_url:
            redis, env["REDIS_URL"], port = private_redis(config)
            supervisor.start(redis)
            _wait_for_port("127.0.0.1", port, supervisor, "redis")
            logger.info("private redis-server on 127.0.0.1:%s (data in %s)", port, config.data_dir / "redis")
        prepare(env, stop)
        if not stop.requested:
            for program in programs(config, env):
                supervisor.start(program)
        announced = False
        while not stop.requested:
            supervisor.reap()
            supervisor.restart_due()
            if not announced and _listening(config):
                print(f"Docker Image Updater is running on {config.url}", flush=True)
                announced = True
            time.sleep(0.2)
        return 0
    finally:
        supervisor.stopping = True
        # Web and beat stop at once; the worker finishes its task (Celery's warm shutdown). Redis goes last.
        supervisor.stop(["web", "beat", "worker"], config.stop_timeout)
        supervisor.stop(["redis"], 10)
        supervisor.kill_leftovers()
        with contextlib.suppress(FileNotFoundError):
            (config.data_dir / REDIS_URL_FILE).unlink()
        logger.info("stopped")


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=logging.INFO)
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["agent"]:  # `scripts/run.sh agent NAME`: one Docker host's agent of a fleet
        from dashboard.launcher import agent

        return agent.main(argv[1:])
    try:
        config = load_config(argv)
        logging.getLogger().setLevel(config.log_level)
        with single_instance(config):
            return run(config)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    except AlreadyRunning as exc:
        print(exc, file=sys.stderr)
        return 3
    except StartupFailed as exc:
        print(exc.args[0], file=sys.stderr)
        return exc.args[1] if len(exc.args) > 1 else 1


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(path, 0o600)


def _listening(config: LaunchConfig) -> bool:
    host = config.url.split("//", 1)[1].rsplit(":", 1)[0]
    try:
        with socket.create_connection((host, config.port), timeout=0.2):
            return True
    except OSError:
        return False


def _wait_for_port(host: str, port: int, supervisor: Supervisor, name: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        supervisor.reap()
        child = supervisor.children[name]
        if child.restart_at is not None:  # it exited
            raise StartupFailed(f"{name} exited with code {child.process.returncode if child.process else '?'}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return
        time.sleep(0.1)
    raise StartupFailed(f"{name} did not start listening on {host}:{port}")

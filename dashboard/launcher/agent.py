"""`scripts/run.sh agent NAME`: the agent of one Docker host, supervised like the rest of the product.

It runs `manage.py agent --host NAME` (a Celery worker consuming only `host.NAME`) and restarts it with
backoff if it dies. No Redis, no migrations and no web app here: those are the central server's. An
agent needs the central server's REDIS_URL, a PostgreSQL DATABASE_URL (its own credentials) and the
same UPDATER_ENCRYPTION_KEYS (it pulls with the registry credentials stored centrally).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import logging
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from dashboard.launcher.config import ROOT, ConfigError, env_module
from dashboard.launcher.stack import AlreadyRunning, StopRequest
from dashboard.launcher.supervisor import Program, Supervisor, become_subreaper

logger = logging.getLogger("launcher")
NEEDS = (
    "An agent works for a central server: set REDIS_URL (its Redis, e.g. rediss://:PASSWORD@central:6379/0) "
    "and DATABASE_URL (its PostgreSQL, with this agent's own user) — see README, Architecture."
)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/run.sh agent", description="Run the agent of one Docker host.")
    parser.add_argument("name", help="the host's name on the board (a-z, 0-9, -, _, .)")
    parser.add_argument("--concurrency", type=int, default=4, help="tasks at once (default 4)")
    return parser.parse_args(argv)


@contextlib.contextmanager
def single_agent(data_dir: Path, name: str) -> Iterator[None]:
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_dir / f"agent-{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise AlreadyRunning(f"the agent of host {name} is already running with data in {data_dir}") from None
    try:
        yield
    finally:
        os.close(fd)


def main(argv: list[str]) -> int:
    args = parse(argv)
    env_values = env_module.Env.load(ROOT)
    try:
        data_dir = Path(env_values.str("UPDATER_DATA_DIR", str(ROOT / "data"))).resolve()
        redis_url, database_url = env_values.str("REDIS_URL", ""), env_values.str("DATABASE_URL", "")
        grace = env_values.int("UPDATER_STOP_TIMEOUT", 60, minimum=0)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    if not redis_url or not database_url.startswith(("postgres://", "postgresql://", "pgsql://")):
        print(NEEDS, file=sys.stderr)
        return 2
    command = [sys.executable, "manage.py", "agent", "--host", args.name, "--concurrency", str(args.concurrency)]
    try:
        with single_agent(data_dir, args.name):
            return supervise(Program("agent", command, dict(os.environ), ROOT), grace)
    except AlreadyRunning as exc:
        print(exc, file=sys.stderr)
        return 3


def supervise(program: Program, grace: int) -> int:
    become_subreaper()
    supervisor = Supervisor(reap_orphans=True)
    stop = StopRequest(supervisor, grace)
    supervisor.start(program)
    logger.info("agent started; Ctrl-C or SIGTERM stops it")
    try:
        while not stop.requested:
            supervisor.reap()
            supervisor.restart_due()
            time.sleep(0.2)
        return 0
    finally:
        supervisor.stopping = True
        supervisor.stop(["agent"], grace)  # the worker finishes its task (Celery's warm shutdown)
        supervisor.kill_leftovers()
        logger.info("stopped")

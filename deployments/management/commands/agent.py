"""`manage.py agent --host NAME`: the agent of one Docker host, a Celery worker on that host's queue only."""

from __future__ import annotations

import os
import re
import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from deployments import hosts
from deployments.models import host_queue

POSTGRES_NEEDED = (
    "fleet mode needs PostgreSQL: the agents and the central server share one database, and SQLite is a "
    "file on one machine. Set DATABASE_URL=postgres://USER:PASSWORD@CENTRAL:5432/updater on every host "
    "(README, Architecture: a fleet)."
)


class Command(BaseCommand):
    help = (
        "Run the agent of the Docker host NAME: a Celery worker consuming only the queue host.NAME, with this "
        "machine's DOCKER_HOST. Deploys, discovery, restores and scans of that host run here."
    )
    requires_system_checks: list = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", required=True, help="the host's name on the board (a-z, 0-9, -, _, .)")
        parser.add_argument("--concurrency", type=int, default=4, help="tasks at once (threads; default 4)")
        parser.add_argument("--loglevel", default=settings.LOG_LEVEL.lower(), help="Celery's log level")

    def handle(self, *args: object, **options: object) -> None:
        name = str(options["host"])
        if not re.fullmatch(settings.HOST_NAME_PATTERN, name):
            raise CommandError(f"--host must be a lowercase name like web-1 (a-z, 0-9, -, _, .), got {name!r}")
        if connections[DEFAULT_DB_ALIAS].vendor != "postgresql":
            raise CommandError(POSTGRES_NEEDED)
        self._check_database()
        facts = hosts.engine_facts()
        if facts.error:
            raise CommandError(f"host {name}: {facts.error} (DOCKER_HOST={settings.DOCKER_HOST or 'the local socket'})")
        conflict = hosts.engine_conflict(name, facts)
        if conflict:
            raise CommandError(conflict)
        connections.close_all()
        queue = host_queue(name)
        # The worker's settings must see this host as the local one (its DOCKER_HOST is this host's).
        env = {**os.environ, "UPDATER_LOCAL_HOST": name, "UPDATER_LOCAL_DOCKER": "true"}
        argv = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "updater_project",
            "worker",
            "-Q",
            queue,
            "-n",
            f"agent-{name}@%h",
            "--pool",
            "threads",
            "--concurrency",
            str(options["concurrency"]),
            "-l",
            str(options["loglevel"]),
            # Agents need no gossip with each other: the database is where they meet.
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        self.stdout.write(f"agent of host {name}: consuming {queue} (engine {facts.engine_version})")
        self.stdout.flush()
        os.chdir(settings.BASE_DIR)
        os.execve(sys.executable, argv, env)  # noqa: S606 - argv list, no shell; the worker keeps this pid

    def _check_database(self) -> None:
        """The central server migrates; an agent of another version must not run against its schema."""
        try:
            connection = connections[DEFAULT_DB_ALIAS]
            executor = MigrationExecutor(connection)
            pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        except Exception as exc:
            raise CommandError(f"cannot use the database: {exc}") from None
        if pending:
            raise CommandError(
                f"the database lacks {len(pending)} migration(s) of this version: run `manage.py migrate` on the "
                "central server (or upgrade this agent to the central server's version)"
            )

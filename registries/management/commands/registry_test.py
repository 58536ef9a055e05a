"""`manage.py registry_test HOST [REPOSITORY]`: check one registry step by step and say exactly what fails."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from registries.connection_test import registry_test_connection


class Command(BaseCommand):
    help = (
        "Test a registry: credentials, the registry API and, with a repository, its tags and newest manifest. "
        "Exit 1 naming what failed (DNS, TLS, connect timeout, 401 bad credentials, 403 missing permission, "
        "repository not found, token expired); for Docker Hub also prints the pull quota left."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("host", help="registry host as in image references, e.g. ghcr.io or docker.io")
        parser.add_argument("repository", nargs="?", default="", help="e.g. library/nginx or team/app")
        parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request (default 10)")

    def handle(self, *args: object, **options: object) -> None:
        report = registry_test_connection(
            str(options["host"]),
            str(options["repository"] or ""),
            timeout=float(options["timeout"]),  # type: ignore[arg-type]
        )
        for line in report.lines():
            self.stdout.write(line)
        if not report.ok:
            raise SystemExit(1)

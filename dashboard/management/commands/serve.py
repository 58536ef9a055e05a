"""Run the whole product: Redis (if needed), migrations, web (ASGI), one Celery worker and one beat."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from updater_project.settings import env

REDIS_HELP = (
    "Redis is required. Set REDIS_URL to a running server, or install redis-server "
    "(Debian/Ubuntu: apt-get install redis-server) and the updater starts a private one."
)


class Command(BaseCommand):
    help = "Start web + Celery worker + Celery beat (and a private Redis when REDIS_URL is not set)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--bind", default=env.str("UPDATER_BIND", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=env.int("UPDATER_HTTP_PORT", 8000, minimum=1, maximum=65535))
        parser.add_argument("--concurrency", type=int, default=env.int("UPDATER_WORKER_CONCURRENCY", 2, minimum=1))

    def handle(self, *args: object, **options: object) -> None:
        children: list[subprocess.Popen] = []
        redis_process: subprocess.Popen | None = None
        child_env = dict(os.environ)
        try:
            if not env.str("REDIS_URL", ""):
                redis_process, child_env["REDIS_URL"] = self.start_private_redis()
            self.prepare(child_env)
            children = self.start_processes(child_env, options)
            self.stdout.write(f"Docker Image Updater is running on http://{options['bind']}:{options['port']}/")
            self.supervise([*children, *([redis_process] if redis_process else [])])
        finally:
            # Web, worker and beat first (the worker finishes its current step), Redis last.
            self.stop(children)
            if redis_process:
                self.stop([redis_process])

    def start_private_redis(self) -> tuple[subprocess.Popen, str]:
        binary = shutil.which("redis-server")
        if not binary:
            raise CommandError(REDIS_HELP)
        port = _free_port()
        data = Path(settings.DATA_DIR, "redis")
        data.mkdir(parents=True, exist_ok=True)
        process = subprocess.Popen(
            [
                binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(port),
                "--dir",
                str(data),
                "--save",
                "60",
                "1",
                "--protected-mode",
                "yes",
                "--daemonize",
                "no",
                "--loglevel",
                "warning",
            ],
        )
        _wait_for_port(port, process, "redis-server")
        self.stdout.write(f"Started a private redis-server on 127.0.0.1:{port} (data in {data})")
        return process, f"redis://127.0.0.1:{port}/0"

    def prepare(self, child_env: dict[str, str]) -> None:
        # Migrations and static files run in a child so they see the same REDIS_URL as the rest.
        for step in (["migrate", "--noinput"], ["ensure_admin"], ["collectstatic", "--noinput", "-v", "0"]):
            subprocess.run([sys.executable, "manage.py", *step], env=child_env, check=True, cwd=settings.BASE_DIR)

    def start_processes(self, child_env: dict[str, str], options: dict) -> list[subprocess.Popen]:
        python = sys.executable
        commands = [
            [
                python,
                "-m",
                "daphne",
                "-b",
                options["bind"],
                "-p",
                str(options["port"]),
                "updater_project.asgi:application",
            ],
            [
                python,
                "-m",
                "celery",
                "-A",
                "updater_project",
                "worker",
                "-l",
                "info",
                "--concurrency",
                str(options["concurrency"]),
                "-n",
                f"updater@{socket.gethostname()}",
            ],
            [
                python,
                "-m",
                "celery",
                "-A",
                "updater_project",
                "beat",
                "-l",
                "info",
                "-s",
                settings.CELERY_BEAT_SCHEDULE_FILENAME,
            ],
        ]
        return [subprocess.Popen(command, env=child_env, cwd=settings.BASE_DIR) for command in commands]

    def supervise(self, children: list[subprocess.Popen]) -> None:
        stop = {"requested": False}

        def request_stop(signum: int, _frame: object) -> None:
            stop["requested"] = True

        signal.signal(signal.SIGTERM, request_stop)
        signal.signal(signal.SIGINT, request_stop)
        while not stop["requested"]:
            for child in children:
                if child.poll() is not None:
                    raise CommandError(f"{' '.join(map(str, child.args[:4]))} exited with code {child.returncode}")
            time.sleep(0.5)

    def stop(self, children: list[subprocess.Popen]) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 30
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for_port(port: int, process: subprocess.Popen, name: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise CommandError(f"{name} exited with code {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise CommandError(f"{name} did not start listening on port {port}")

"""`manage.py serve`: an alias of the launcher `scripts/run.sh` runs (`python -m dashboard.launcher`).

It replaces this process at once, so the resident launcher carries no Django (see dashboard/launcher/).
"""

from __future__ import annotations

import os
import sys

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run web + worker (beat inside) + a private Redis, supervised: same options as scripts/run.sh."

    def run_from_argv(self, argv: list[str]) -> None:
        os.chdir(settings.BASE_DIR)  # `-m dashboard.launcher` is found from the project directory
        os.execv(sys.executable, [sys.executable, "-m", "dashboard.launcher", *argv[2:]])  # noqa: S606

    def handle(self, *args: object, **options: object) -> None:  # pragma: no cover - run_from_argv execs
        self.run_from_argv(["manage.py", "serve"])

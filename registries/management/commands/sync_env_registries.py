"""`manage.py sync_env_registries`: import the registries declared in `.updater.env` / the environment.

The launcher runs it after `migrate`, before the web and worker processes start. Rows it creates are marked
`managed_by_env` and are read-only in the admin; edit the variables (`scripts/generate_env.sh`) instead.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from registries.env_registries import sync_env_registries
from updater_project.settings import env


class Command(BaseCommand):
    help = "Create, update or remove the registries declared by environment variables (AWS_*, AZURE_*, GCP_*, …)."

    def handle(self, *args: object, **options: object) -> None:
        try:
            lines = sync_env_registries(lambda name: env.str(name, ""))
        except (OSError, json.JSONDecodeError) as exc:
            raise CommandError(f"GCP_SERVICE_ACCOUNT_JSON: cannot read the service-account key: {exc}") from None
        except Exception as exc:  # ValidationError and friends: name the cause, never a secret value
            raise CommandError(f"registries from the environment: {type(exc).__name__}: {exc}") from None
        for line in lines:
            self.stdout.write(line)

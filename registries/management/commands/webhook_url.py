"""`manage.py webhook_url HOST [--family F] [--secret-stdin] [--regenerate]`: make (or renew) a registry's push
webhook and print its URL, which is shown only this once."""

from __future__ import annotations

import sys

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from registries.models import Registry, WebhookEndpoint, WebhookFamily
from registries.webhooks.services import webhook_endpoint_create, webhook_token_regenerate


class Command(BaseCommand):
    help = "Create a registry's push webhook (or a new URL for it) and print the URL once."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("host", help="a registry configured under Registries, e.g. ghcr.io or 127.0.0.1:5000")
        parser.add_argument("--family", choices=WebhookFamily.values, default="", help="default: from the provider")
        parser.add_argument("--secret-stdin", action="store_true", help="read the signing secret from stdin")
        parser.add_argument("--regenerate", action="store_true", help="replace the URL of an existing webhook")

    def handle(self, *args: object, **options: object) -> None:
        registry = Registry.objects.filter(host=options["host"]).first()
        if registry is None:
            raise CommandError(f"no registry {options['host']!r}: add it under Registries first")
        secret = sys.stdin.readline().strip() if options["secret_stdin"] else ""
        existing = WebhookEndpoint.objects.filter(registry=registry).first()
        if existing is not None:
            if not options["regenerate"]:
                raise CommandError(f"{registry.host} has a webhook already: --regenerate replaces its URL")
            if secret:
                existing.set_secret(secret)
                existing.save(update_fields=["secret_encrypted"])
            token = webhook_token_regenerate(endpoint=existing)
        else:
            _, token = webhook_endpoint_create(registry=registry, family=str(options["family"]), secret=secret)
        base = settings.PUBLIC_URL or f"http://localhost:{settings.HTTP_PORT}"
        self.stdout.write(f"{base}{reverse('registries:webhook', args=[token])}")

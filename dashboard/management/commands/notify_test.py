"""`manage.py notify_test NAME`: send a test message to a notification channel now; exit 1 with the reason."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from dashboard.notifications.models import NotificationChannel
from dashboard.notifications.services import channel_send_test


class Command(BaseCommand):
    help = "Send a test notification to a channel (as the admin action does) and say whether it was delivered."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="the channel's name")

    def handle(self, *args: object, **options: object) -> None:
        channel = NotificationChannel.objects.filter(name=options["name"]).first()
        if channel is None:
            raise CommandError(f"no notification channel {options['name']!r}")
        error = channel_send_test(channel=channel)
        if error:
            self.stderr.write(f"{channel.name}: not delivered: {error}")
            raise SystemExit(1)
        self.stdout.write(f"{channel.name}: delivered")

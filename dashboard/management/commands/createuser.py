"""`manage.py createuser NAME --role viewer|operator|admin` — for scripts and first setup."""

from __future__ import annotations

import getpass
import secrets
from pathlib import Path

from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from dashboard.roles import ROLES, assign_role


class Command(BaseCommand):
    help = (
        "Create a user with a role (viewer reads, operator also deploys and rolls back, admin also runs "
        "Django admin). The password comes from --password-file, a prompt, or is generated and printed once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", choices=ROLES, required=True)
        parser.add_argument("--password-file", type=Path, help="read the password from this file (first line)")
        parser.add_argument("--generate", action="store_true", help="generate a password and print it once")
        parser.add_argument("--email", default="")

    def handle(self, *args: object, **options: object) -> None:
        users = get_user_model()
        username = str(options["username"]).strip()
        if not username:
            raise CommandError("the username must not be empty")
        if users.objects.filter(username=username).exists():
            raise CommandError(f"user {username!r} already exists (change roles in Admin → Users)")
        password, generated = self.password(options, username)
        with transaction.atomic():
            user = users.objects.create_user(username=username, email=str(options["email"]), password=password)
            assign_role(user, str(options["role"]))
        self.stdout.write(f"Created {options['role']} {username!r}.")
        if generated:
            self.stdout.write(f"Password: {password}\nThis password is shown once: store it now.")

    def password(self, options: dict, username: str) -> tuple[str, bool]:
        source: Path | None = options["password_file"]  # type: ignore[assignment]
        if source is not None:
            try:
                password = source.read_text().splitlines()[0].strip() if source.read_text().strip() else ""
            except OSError as exc:
                raise CommandError(f"cannot read {source}: {exc.strerror}") from None
        elif options["generate"] or not self.stdin_is_terminal():
            return secrets.token_urlsafe(18), True
        else:
            password = getpass.getpass(f"Password for {username}: ")
            if password != getpass.getpass("Again: "):
                raise CommandError("the passwords do not match")
        if not password:
            raise CommandError("the password must not be empty")
        try:
            password_validation.validate_password(password, get_user_model()(username=username))
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        return password, False

    def stdin_is_terminal(self) -> bool:
        import sys

        return sys.stdin.isatty()

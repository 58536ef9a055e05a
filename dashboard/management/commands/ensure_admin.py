import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from dashboard.roles import ADMIN, assign_role
from updater_project.settings import env


class Command(BaseCommand):
    help = "Create the first admin user if no superuser exists; print its generated password once."

    def handle(self, *args: object, **options: object) -> None:
        users = get_user_model()
        if users.objects.filter(is_superuser=True).exists():
            return
        username = env.str("UPDATER_ADMIN_USER", "admin")
        given = env.str("UPDATER_ADMIN_PASSWORD", "")
        password = given or secrets.token_urlsafe(18)
        user = users.objects.create_superuser(username=username, email="", password=password)
        assign_role(user, ADMIN)  # shown as "admin"; a superuser has every permission anyway
        if given:
            self.stdout.write(f"Created admin user {username!r} with the password from UPDATER_ADMIN_PASSWORD.")
            return
        self.stdout.write(
            f"Created admin user {username!r} with password: {password}\n"
            "This password is shown once: store it now, and change it under Admin → Users."
        )

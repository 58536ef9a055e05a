"""`manage.py rotate_keys`: re-encrypt every stored secret under the newest UPDATER_ENCRYPTION_KEYS key.

Rotate a key: prepend a new key to UPDATER_ENCRYPTION_KEYS, restart, run this, then drop the old key.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from deployments.backups import rotate_backups
from registries.models import Registry
from registries.secrets import CredentialUndecryptable, rotate_secret


class Command(BaseCommand):
    help = "Re-encrypt registry secrets and deploy-run file backups under the first (newest) encryption key."

    def handle(self, *args: object, **options: object) -> None:
        rotated, unreadable = 0, []
        for pk, host, sealed in Registry.objects.exclude(secret_encrypted="").values_list(
            "pk", "host", "secret_encrypted"
        ):
            try:
                resealed = rotate_secret(sealed)
            except CredentialUndecryptable:
                unreadable.append(host)
                continue
            # update(): a rotation changes no secret, so it does not count as an edit (updated_at stays).
            rotated += Registry.objects.filter(pk=pk, secret_encrypted=sealed).update(secret_encrypted=resealed)
        backups, bad_backups = rotate_backups()
        self.stdout.write(f"registry secrets re-encrypted: {rotated}")
        self.stdout.write(f"deploy-run file backups re-encrypted: {backups}")
        if unreadable or bad_backups:
            raise CommandError(
                f"no key opens {len(unreadable)} registry secret(s) ({', '.join(unreadable) or '-'}) and "
                f"{bad_backups} file backup(s): keep the key that sealed them, or re-enter those secrets"
            )

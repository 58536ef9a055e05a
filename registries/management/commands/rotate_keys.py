"""`manage.py rotate_keys`: re-encrypt every stored secret under the newest UPDATER_ENCRYPTION_KEYS key.

Rotate a key: prepend a new key to UPDATER_ENCRYPTION_KEYS, restart, run this, then drop the old key.
"""

from __future__ import annotations

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError

from deployments.backups import rotate_backups
from registries.secrets import SEALED_FIELDS, CredentialUndecryptable, SealedField, rotate_secret


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret (registry secrets, webhook secrets, notification URLs) and every "
        "deploy-run file backup under the first (newest) encryption key."
    )

    def handle(self, *args: object, **options: object) -> None:
        unreadable: list[str] = []
        for sealed in SEALED_FIELDS:
            rotated, failed = _rotate(sealed)
            unreadable += failed
            self.stdout.write(f"{sealed.what}s re-encrypted: {rotated}")
        backups, bad_backups = rotate_backups()
        self.stdout.write(f"deploy-run file backups re-encrypted: {backups}")
        if unreadable or bad_backups:
            raise CommandError(
                f"no key opens {len(unreadable)} secret(s) ({', '.join(unreadable) or '-'}) and "
                f"{bad_backups} file backup(s): keep the key that sealed them, or re-enter those secrets"
            )


def _rotate(sealed: SealedField) -> tuple[int, list[str]]:
    model = apps.get_model(sealed.model)
    rotated, unreadable = 0, []
    rows = model.objects.exclude(**{sealed.field: ""}).values_list("pk", sealed.name_field, sealed.field)
    for pk, name, token in rows:
        try:
            resealed = rotate_secret(token)
        except CredentialUndecryptable:
            unreadable.append(f"{sealed.what} of {name}")
            continue
        # update(), conditional on the token read: a rotation changes no secret, and an edit meanwhile wins.
        rotated += model.objects.filter(pk=pk, **{sealed.field: token}).update(**{sealed.field: resealed})
    return rotated, unreadable

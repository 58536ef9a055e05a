"""The compose/.env backup a run keeps, sealed with the secrets key (.env files often hold secrets)."""

from __future__ import annotations

import json

from deployments.compose_file import ImageEdit
from registries.secrets import decrypt_secret, encrypt_secret


def seal_edit(edit: ImageEdit) -> str:
    return encrypt_secret(json.dumps(edit.to_json()))


def open_edit(sealed: str) -> ImageEdit:
    return ImageEdit.from_json(json.loads(decrypt_secret(sealed)))


def rotate_backups() -> tuple[int, int]:
    """Re-seal every run's file backup under the newest key; (rotated, undecryptable) counts.

    Undecryptable backups are left as they are (a retired key can no longer open them) and counted.
    """
    from deployments.models import DeploymentRun
    from registries.secrets import CredentialUndecryptable, rotate_secret

    rotated = failed = 0
    runs = DeploymentRun.objects.exclude(file_backup="").values_list("pk", "file_backup")
    for pk, sealed in runs.iterator():
        try:
            resealed = rotate_secret(sealed)
        except CredentialUndecryptable:
            failed += 1
            continue
        # Only this field, and only if no one rewrote it meanwhile.
        rotated += DeploymentRun.objects.filter(pk=pk, file_backup=sealed).update(file_backup=resealed)
    return rotated, failed

"""The compose/.env backup a run keeps, sealed with the secrets key (.env files often hold secrets)."""

from __future__ import annotations

import json

from deployments.compose_file import ImageEdit
from registries.secrets import decrypt_secret, encrypt_secret


def seal_edit(edit: ImageEdit) -> str:
    return encrypt_secret(json.dumps(edit.to_json()))


def open_edit(sealed: str) -> ImageEdit:
    return ImageEdit.from_json(json.loads(decrypt_secret(sealed)))

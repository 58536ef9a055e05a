"""Encryption of secrets at rest (Fernet, keys from UPDATER_ENCRYPTION_KEYS).

The first key encrypts; every key is tried to decrypt, so keys rotate by prepending a new one.
A token no key can open raises `CredentialUndecryptable`: ciphertext is never used as a password.

Every model field that holds such a token is listed in `SEALED_FIELDS` (apps add theirs in `ready()`),
so `manage.py rotate_keys` and the doctor's key check cover all of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


class CredentialError(Exception):
    """Base class for credential storage errors."""


class EncryptionNotConfigured(CredentialError):
    def __init__(self) -> None:
        super().__init__(
            "UPDATER_ENCRYPTION_KEYS is not set: generate one with "
            "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`"
        )


class CredentialUndecryptable(CredentialError):
    def __init__(self) -> None:
        super().__init__(
            "a stored registry secret cannot be decrypted with UPDATER_ENCRYPTION_KEYS "
            "(was the key changed without keeping the old one?); re-enter the secret"
        )


def _fernet() -> MultiFernet:
    keys = settings.ENCRYPTION_KEYS
    if not keys:
        raise EncryptionNotConfigured()
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except (ValueError, TypeError) as exc:
        raise CredentialError(f"UPDATER_ENCRYPTION_KEYS holds an invalid Fernet key: {exc}") from None


def encrypt_secret(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt_secret(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise CredentialUndecryptable() from None


def rotate_secret(token: str) -> str:
    """Re-encrypt a token under the first (newest) key."""
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise CredentialUndecryptable() from None


@dataclass(frozen=True)
class SealedField:
    """A model field holding an encrypted token; `name_field` names a row in messages (never the secret)."""

    model: str  # "app_label.ModelName"
    field: str
    name_field: str
    what: str  # "registry secret", "notification URL", …


SEALED_FIELDS: list[SealedField] = []


def sealed_field_register(field: SealedField) -> None:
    """Called from an app's `ready()`; idempotent."""
    if field not in SEALED_FIELDS:
        SEALED_FIELDS.append(field)


class SealedSecret(models.Model):
    """An optional secret stored encrypted (`secret_encrypted`), write-only: set, read back, or test presence."""

    secret_encrypted = models.TextField(blank=True, editable=False)

    class Meta:
        abstract = True

    @property
    def has_secret(self) -> bool:
        return bool(self.secret_encrypted)

    def set_secret(self, plaintext: str) -> None:
        self.secret_encrypted = encrypt_secret(plaintext) if plaintext else ""

    def get_secret(self) -> str:
        return decrypt_secret(self.secret_encrypted) if self.secret_encrypted else ""

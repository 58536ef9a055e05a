"""Encryption of registry secrets at rest (Fernet, keys from UPDATER_ENCRYPTION_KEYS).

The first key encrypts; every key is tried to decrypt, so keys rotate by prepending a new one.
A token no key can open raises `CredentialUndecryptable`: ciphertext is never used as a password.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


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

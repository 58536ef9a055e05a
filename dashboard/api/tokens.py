"""Personal API tokens: create (shown once), revoke, and authenticate a presented token.

A token is `diu_<prefix>_<secret>`: the prefix finds the row, the SHA-256 of the whole token is compared in
constant time. Tokens are random (190 bits), so a fast hash is enough; the plain token is never stored or
logged. Its effective role is the lower of its own and its owner's current one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from dashboard import roles
from dashboard.models import ApiToken

TOKEN_PREFIX = "diu"  # noqa: S105 - the public start of every token, not a secret
LAST_USED_RESOLUTION = timedelta(minutes=1)  # `last_used_at` is written at most this often per token


class TokenRefused(Exception):
    """A token cannot be created as asked; the message says why."""


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    plaintext: str  # shown to its owner once, never stored


def roles_up_to(user: AbstractBaseUser) -> list[str]:
    """The roles a token of `user` may have: theirs and those below it."""
    own = roles.role_of(user)
    return list(roles.ROLES[: roles.ROLES.index(own) + 1]) if own else []


def api_token_create(*, owner: AbstractBaseUser, name: str, role: str, expires_at: datetime | None = None) -> NewToken:
    """A new token for `owner` with at most their role."""
    name = name.strip()
    if not name:
        raise TokenRefused("Give the token a name")
    if role not in roles_up_to(owner):
        raise TokenRefused(f"A token's role cannot be higher than its owner's ({roles.role_of(owner) or 'none'})")
    if expires_at is not None and expires_at <= timezone.now():
        raise TokenRefused("The expiry date must be in the future")
    prefix = secrets.token_hex(6)
    plaintext = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(24)}"
    token = ApiToken.objects.create(
        owner=owner, name=name[:100], prefix=prefix, token_hash=_hash(plaintext), role=role, expires_at=expires_at
    )
    return NewToken(token, plaintext)


def api_token_revoke(*, token: ApiToken) -> None:
    """Revoke for good (the row stays, for the record)."""
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def api_token_authenticate(plaintext: str, *, now: datetime | None = None) -> ApiToken | None:
    """The live token `plaintext` is, with its owner loaded; None if unknown, revoked, expired or inactive."""
    parts = plaintext.split("_", 2)  # the secret may contain "_" itself
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        return None
    token = ApiToken.objects.select_related("owner").filter(prefix=parts[1]).first()
    if token is None or not hmac.compare_digest(token.token_hash, _hash(plaintext)):
        return None
    now = now or timezone.now()
    if token.is_revoked or (token.expires_at is not None and token.expires_at <= now) or not token.owner.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def token_role(token: ApiToken) -> str:
    """What the token may do now: the lower of its role and its owner's."""
    allowed = roles_up_to(token.owner)
    return token.role if token.role in allowed else (allowed[-1] if allowed else "")


def token_allows(token: ApiToken, permission: str) -> bool:
    """Whether the token's effective role carries `permission` (e.g. roles.OPERATE)."""
    role = token_role(token)
    return bool(role) and permission in roles.role_permission_names(role)


def _hash(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()

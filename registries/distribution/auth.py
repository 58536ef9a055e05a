"""Registry authentication: `WWW-Authenticate` challenges, Bearer tokens cached per scope, and Basic.

`RegistryAuth` holds the secrets, so it is also what turns an answer into a redacted error message.
"""

from __future__ import annotations

import base64
import re
import time
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

from registries.distribution.errors import (
    RegistryAuthError,
    RegistryBadCredentials,
    RegistryPermissionDenied,
    RegistryProtocolError,
    RegistryTokenExpired,
    json_object,
    raise_for_status,
)
from registries.distribution.transport import Response, Transport

DEFAULT_TOKEN_LIFETIME = 60  # seconds, when the token server sends no expires_in (token spec)


@dataclass(frozen=True)
class Challenge:
    """One `WWW-Authenticate` challenge: how the registry wants us to authenticate."""

    scheme: str  # "bearer" or "basic"
    realm: str = ""
    service: str = ""
    scope: str = ""


class CredentialSource(Protocol):
    """Where a client's username and password come from: fixed, or issued by a provider and renewed."""

    display_user: str  # for messages: never a secret

    @property
    def has_credentials(self) -> bool: ...

    def credentials(self) -> tuple[str, str]:
        """The current (username, password), renewed first if they are about to expire."""
        ...

    def renew(self) -> bool:
        """Fetch new credentials now (the registry refused the current ones); True if they changed."""
        ...


class StaticCredentials:
    """A username and password as stored: nothing to renew."""

    def __init__(self, username: str = "", password: str = "") -> None:
        self.display_user = username
        self._pair = (username, password)

    @property
    def has_credentials(self) -> bool:
        return any(self._pair)

    def credentials(self) -> tuple[str, str]:
        return self._pair

    def renew(self) -> bool:
        return False


@dataclass(frozen=True)
class _Token:
    value: str
    expires_at: float  # time.monotonic()


class RegistryAuth:
    """The credentials for one registry host, the challenge it sent and the tokens it granted."""

    def __init__(
        self,
        transport: Transport,
        *,
        username: str = "",
        password: str = "",
        source: CredentialSource | None = None,
    ) -> None:
        self.host = transport.host
        self._source: CredentialSource = source or StaticCredentials(username, password)
        self.username = self._source.display_user
        self._secrets: set[str] = set()
        if password:  # fixed credentials: known up front, so redacted even before they are first sent
            self._secrets.update({password, base64.b64encode(f"{username}:{password}".encode()).decode()})
        self._transport = transport
        self._challenge: Challenge | None = None
        self._tokens: dict[str, _Token] = {}

    def header_for(self, scope: str) -> str | None:
        """The Authorization value to send up front for `scope`; None before the first challenge."""
        challenge = self._challenge
        if challenge is None:
            return None  # first contact: anonymous, and the 401 tells us how to authenticate
        if challenge.scheme == "basic":
            return self.basic_header()
        token = self._tokens.get(scope)
        if token is None or token.expires_at <= time.monotonic():
            token = self._tokens[scope] = self._fetch_token(challenge, scope)
        return f"Bearer {token.value}"

    def answer_challenge(self, response: Response, scope: str, *, sent: str | None) -> str:
        """The Authorization value to resend with after a 401, learning the challenge it carried."""
        challenge = pick_challenge(response.headers.get("WWW-Authenticate", ""))
        if challenge is None:
            raise RegistryAuthError(f"authentication failed for {self.host}: no usable challenge", host=self.host)
        self._challenge = challenge
        if challenge.scheme == "basic":
            if not self.has_credentials:
                raise self.auth_error(401)
            # Basic credentials refused: provider-issued ones may have expired early; renew them once.
            if (sent or "").startswith("Basic ") and sent == self.basic_header() and not self._source.renew():
                raise self.auth_error(401)
            return self.basic_header() or ""
        # The challenge's scope is what the registry wants; cache the token under the scope we look up by.
        self._tokens[scope] = self._fetch_token(challenge, challenge.scope or scope)
        return f"Bearer {self._tokens[scope].value}"

    def raise_for_status(self, response: Response, what: str) -> None:
        """Raise the named error for a non-2xx answer, with our secrets redacted from the message."""
        raise_for_status(response, what, host=self.host, auth_error=self.auth_error, redact=self.redact)

    def auth_error(self, status: int) -> RegistryAuthError:
        who = f"user {self.username!r}" if self.has_credentials else "anonymous access"
        if status == 403:
            return RegistryPermissionDenied(
                f"authentication failed for {self.host} ({who}): 403 missing permission, "
                "the credentials work but may not read this repository",
                host=self.host,
                status=status,
            )
        reason = (
            "401 bad credentials, the registry rejects them"
            if self.has_credentials
            else "401, this registry needs credentials: add them under Registries in the admin"
        )
        # A provider may know why its credentials get refused (a pasted token that expires, say).
        hint = getattr(self._source, "refused_hint", "") if self.has_credentials else ""
        error = (
            RegistryTokenExpired if getattr(self._source, "refused_means_expired", False) else RegistryBadCredentials
        )
        return error(
            f"authentication failed for {self.host} ({who}): {reason}{f'; {hint}' if hint else ''}",
            host=self.host,
            status=status,
        )

    @property
    def has_credentials(self) -> bool:
        return self._source.has_credentials

    def basic_header(self) -> str | None:
        if not self.has_credentials:
            return None
        username, password = self._source.credentials()
        encoded = base64.b64encode(f"{username}:{password}".encode()).decode()
        self._secrets.update(value for value in (password, encoded) if value)
        return f"Basic {encoded}"

    def redact(self, text: str) -> str:
        """Without our secrets even if a registry echoes them back; then short and printable."""
        for secret in sorted({*self._secrets, *(token.value for token in self._tokens.values())}, key=len)[::-1]:
            text = text.replace(secret, "***")
        source_redact = getattr(self._source, "redact", None)  # a provider knows its stored and issued secrets
        if source_redact is not None:
            text = source_redact(text)
        return re.sub(r"[^\x20-\x7e]", "?", text)[:200]

    def _fetch_token(self, challenge: Challenge, scope: str) -> _Token:
        params = {"service": challenge.service} if challenge.service else {}
        if scope:
            params["scope"] = scope
        basic = self.basic_header()
        response = self._transport.send("GET", challenge.realm, params=params, auth=basic, max_body=1 << 20)
        if response.status == 401 and basic and self._source.renew():  # provider-issued credentials expired
            basic = self.basic_header()
            response = self._transport.send("GET", challenge.realm, params=params, auth=basic, max_body=1 << 20)
        if response.status in (401, 403):
            raise self.auth_error(response.status)
        self.raise_for_status(response, "token")
        body = json_object(response.body, "token response", host=self.host)
        value = body.get("token") or body.get("access_token")
        if not isinstance(value, str) or not value:
            raise RegistryProtocolError(f"{self.host}: token response holds no token", host=self.host)
        lifetime = body.get("expires_in")
        if isinstance(lifetime, bool) or not isinstance(lifetime, int | float) or lifetime <= 0:
            lifetime = DEFAULT_TOKEN_LIFETIME
        # Renew a little early so a token does not expire between our check and the registry's.
        return _Token(value, time.monotonic() + lifetime * 0.9)


_CHALLENGE_PART = re.compile(
    r'\s*(?:(?P<key>[A-Za-z0-9_.~+/-]+)\s*=\s*(?P<value>"(?:[^"\\]|\\.)*"|[^,\s]*)|(?P<scheme>[A-Za-z0-9_.~+/-]+))\s*,?'
)


def parse_challenges(header: str) -> list[Challenge]:
    """Parse `WWW-Authenticate`, which may hold several challenges (`Bearer realm=…, Basic realm=…`)."""
    challenges: list[tuple[str, dict[str, str]]] = []
    for match in _CHALLENGE_PART.finditer(header):
        if match.group("scheme"):
            challenges.append((match.group("scheme").lower(), {}))
        elif match.group("key") and challenges:
            value = match.group("value")
            if value.startswith('"'):
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            challenges[-1][1][match.group("key").lower()] = value
    return [
        Challenge(scheme, params.get("realm", ""), params.get("service", ""), params.get("scope", ""))
        for scheme, params in challenges
    ]


def pick_challenge(header: str) -> Challenge | None:
    """Bearer with a URL realm if offered; else Basic (a Bearer realm that is no URL means Basic, as for ECR)."""
    challenges = parse_challenges(header)
    for challenge in challenges:
        if challenge.scheme == "bearer" and urlsplit(challenge.realm).scheme in ("http", "https"):
            return challenge
    if any(challenge.scheme in ("basic", "bearer") for challenge in challenges):
        return Challenge("basic")
    return None

"""API authentication: personal tokens as `Authorization: Bearer diu_…`; the browser's session comes next."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from dashboard.api.tokens import api_token_authenticate
from dashboard.models import ApiToken


class ApiTokenAuthentication(BaseAuthentication):
    """`request.user` is the token's owner and `request.auth` the `ApiToken` (its role caps the owner's)."""

    def authenticate(self, request: Request) -> tuple[object, ApiToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != b"bearer":
            return None  # not ours: the session may authenticate
        if len(parts) != 2:
            raise AuthenticationFailed("The Authorization header must be 'Bearer <token>'")
        try:
            presented = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed("The API token is malformed") from None
        token = api_token_authenticate(presented)
        if token is None:
            raise AuthenticationFailed("The API token is unknown, expired or revoked")
        return token.owner, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'  # makes an unauthenticated request a 401, not a 403


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema describes the token."""

    target_class = ApiTokenAuthentication
    name = "apiToken"

    def get_security_definition(self, auto_schema: object) -> dict:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "diu_<prefix>_<secret>",
            "description": "A personal API token, created on the API tokens page or in the admin.",
        }

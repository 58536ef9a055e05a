"""Role checks for the API: the same permissions as the dashboard, capped by the token's role."""

from __future__ import annotations

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from dashboard import roles
from dashboard.api.tokens import token_allows
from dashboard.models import ApiToken


class _HasRolePermission(BasePermission):
    permission = ""

    def has_permission(self, request: Request, view: object) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.has_perm(self.permission)):
            return False
        if isinstance(request.auth, ApiToken):
            return token_allows(request.auth, self.permission)
        return True


class CanView(_HasRolePermission):
    """Viewer or higher."""

    permission = roles.VIEW
    message = "Reading this needs the viewer role or higher"


class CanOperate(_HasRolePermission):
    """Operator or higher: check, deploy, approve, roll back, pin and ignore."""

    permission = roles.OPERATE
    message = "This action needs the operator role or higher (for a token: its role and its owner's)"

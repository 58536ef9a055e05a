from django.http import HttpRequest

from dashboard.roles import role_of


def role(request: HttpRequest) -> dict:
    """The signed-in user's role, shown beside their name."""
    user = getattr(request, "user", None)
    return {"user_role": role_of(user) if user is not None and user.is_authenticated else ""}

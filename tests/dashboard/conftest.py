import pytest

from dashboard.roles import ADMIN, OPERATOR, VIEWER, assign_role
from tests.factories import UserFactory


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Logins are part of these tests; a slow hash only measures PBKDF2."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _with_role(username: str, role: str):
    user = UserFactory(username=username)
    assign_role(user, role)
    return user


@pytest.fixture
def viewer(db):
    return _with_role("viewer", VIEWER)


@pytest.fixture
def op(db):
    """An operator by role (the suite-wide `operator` fixture is only staff)."""
    return _with_role("op", OPERATOR)


@pytest.fixture
def admin_user(db):
    return _with_role("boss", ADMIN)

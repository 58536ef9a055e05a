import pytest

from tests.factories import UserFactory

pytest_plugins = [
    "tests.support.registry",
    "tests.support.docker_env",
    "tests.support.engine_seam",
    "tests.support.chaos",
]


@pytest.fixture
def owner(db):
    return UserFactory(username="owner", is_staff=True, is_superuser=True)


@pytest.fixture
def operator(db):
    return UserFactory(username="operator", is_staff=True)


@pytest.fixture
def outsider(db):
    """Logged in, but in no role: sees nothing."""
    return UserFactory(username="outsider")


def _with_role(username: str, role: str):
    from dashboard.roles import assign_role

    user = UserFactory(username=username)
    assign_role(user, role)
    return user


@pytest.fixture
def viewer(db):
    return _with_role("viewer", "viewer")


@pytest.fixture
def op(db):
    """An operator by role (`operator` above is only staff)."""
    return _with_role("op", "operator")


@pytest.fixture
def admin_user(db):
    return _with_role("boss", "admin")

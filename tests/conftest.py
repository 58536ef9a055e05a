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
    return UserFactory(username="outsider")

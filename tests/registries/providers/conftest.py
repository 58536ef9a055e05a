import pytest

from registries.providers import forget_all
from tests.support.moto_server import moto_server  # noqa: F401 - fixture


@pytest.fixture(autouse=True)
def fresh_credential_cache():
    """Each test starts with no issued credentials cached in the process."""
    forget_all()
    yield
    forget_all()

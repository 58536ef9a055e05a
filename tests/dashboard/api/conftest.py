import pytest

from dashboard.api.tokens import api_token_create


@pytest.fixture(autouse=True)
def generous_rate_limits(settings):
    """Rate limits are tested on their own; elsewhere many requests from 127.0.0.1 must not add up."""
    settings.API_RATE = "100000/minute"
    settings.API_ANON_RATE = "100000/minute"


@pytest.fixture
def token_for():
    """`token_for(user, role)` → headers that authenticate as a new token of `user` with `role`."""

    def make(user, role: str) -> dict[str, str]:
        created = api_token_create(owner=user, name=f"{role} token", role=role)
        return {"Authorization": f"Bearer {created.plaintext}"}

    return make

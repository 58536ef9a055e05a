import pytest


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """Logins are part of these tests; a slow hash only measures PBKDF2."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

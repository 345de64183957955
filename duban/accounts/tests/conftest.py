import pytest


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # The world creates a dozen users; the production hasher takes most of a second each.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

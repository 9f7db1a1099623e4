from __future__ import annotations

import os

import pytest
from django.conf import settings
from django.db import connection

from tests.servers import IN_CI


def pytest_configure(config: pytest.Config) -> None:
    # Hashing is not what the tests test; the fast hasher saves seconds per login.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def need_server(name: str, reason: str) -> None:
    """Skip outside CI, fail under CI: a real-server test may never silently not run there."""
    message = f"{name} is not available: {reason} (run the suite with `make test`)"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def redis_url() -> str:
    url = os.environ.get("DAST_TEST_REDIS_URL")
    if not url:
        need_server("Redis", "DAST_TEST_REDIS_URL is not set")
    return str(url)


@pytest.fixture
def postgres_url(transactional_db: None) -> str:
    """The URL of the PostgreSQL test database, for processes started by a test."""
    if connection.vendor != "postgresql":
        need_server("PostgreSQL", f"the tests run on {connection.vendor}")
    params = connection.settings_dict
    user = params["USER"] or "postgres"
    return f"postgres://{user}@{params['HOST']}:{params['PORT']}/{params['NAME']}"

from __future__ import annotations

import os

import pytest
from django.conf import settings
from django.db import connection

from tests.browser import chromium, chromium_path
from tests.servers import IN_CI

# The mail servers (Dovecot, the SMTP sink), the fake grid services, and their fixtures.
pytest_plugins = ["tests.mailservers", "tests.gridfakes"]


def pytest_configure(config: pytest.Config) -> None:
    # Hashing is not what the tests test; the fast hasher saves seconds per login.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def need_server(name: str, reason: str) -> None:
    """Skip outside CI, fail under CI: a real-server test may never silently not run there."""
    message = f"{name} is not available: {reason} (run the suite with `make test`)"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(autouse=True)
def fresh_cache() -> None:
    """Each test starts with an empty cache: the ticket page keeps team lists there by team
    id, and rate limits count there."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def enqueued(request, monkeypatch) -> list[int]:
    """Outbox sends the code would enqueue, recorded instead of published to the broker.
    Tests with ``@pytest.mark.real_tasks`` publish for real (to a worker they start)."""
    sent: list[int] = []
    if "real_tasks" not in request.keywords:
        monkeypatch.setattr("tickets.services.outbox._enqueue", sent.append)
    return sent


@pytest.fixture(autouse=True)
def events_consumed_on_commit(request, monkeypatch) -> None:
    """The event log's consumers run right after the commit that recorded the events, in
    this process, as the worker woken by the nudge would. Tests with
    ``@pytest.mark.real_tasks`` leave them to a real worker and beat."""
    if "real_tasks" not in request.keywords:
        from tickets.services.events import events_consume

        monkeypatch.setattr("tickets.services.events.nudge", events_consume)


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


@pytest.fixture
def browser_context(monkeypatch):
    if chromium_path() is None:
        need_server("Chromium", "/usr/bin/chromium is missing")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # meanwhile are still synchronous and safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with chromium() as context:
        yield context

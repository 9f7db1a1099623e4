from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import time_machine
from django.conf import settings
from django.db import connection

from tests.browser import chromium, chromium_path
from tests.servers import IN_CI, ServerError

if TYPE_CHECKING:
    from tests.timerproc import Postgres, Redis

# The mail servers (Dovecot, the SMTP sink), the fake grid services, and their fixtures.
pytest_plugins = ["tests.mailservers", "tests.gridfakes"]


# `make test` runs the fast tier a second time with the clock this many days ahead, so that a
# test that only passes at today's date fails now rather than on some later day.
CLOCK_SHIFT_ENV = "DAST_TEST_CLOCK_SHIFT_DAYS"


def pytest_configure(config: pytest.Config) -> None:
    # Hashing is not what the tests test; the fast hasher saves seconds per login.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    days = os.environ.get(CLOCK_SHIFT_ENV, "").strip()
    if days:
        # The whole session runs on a moved clock that keeps ticking (time_machine patches
        # time.time, datetime.now and friends, not time.monotonic, so timeouts still work).
        # A test's own frozen_at or travel nests inside and wins. Processes a test starts
        # read the real clock: tests marked `processes` are left out of this run.
        shifted = time_machine.travel(datetime.now(UTC) + timedelta(days=int(days)), tick=True)
        shifted.start()
        config.add_cleanup(shifted.stop)


# Fixtures that exist to start, or to be handed to, another process (a worker, the fetcher,
# Chromium, Dovecot): a test that uses one is marked `processes` without having to say so.
PROCESS_FIXTURES = {
    "postgres_url",
    "redis_url",
    "browser_context",
    "dovecot",
    "imap_mailbox",
    "postgres",
    "broker",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if PROCESS_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.processes)


def pytest_report_header(config: pytest.Config) -> str | None:
    days = os.environ.get(CLOCK_SHIFT_ENV, "").strip()
    if days:
        return f"clock moved {days} days ahead: it is {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    return None


@pytest.fixture(autouse=True)
def frozen_clock(request: pytest.FixtureRequest) -> Iterator[time_machine.Traveller | None]:
    """A test marked ``@pytest.mark.frozen_at(aware_datetime)`` (or in a module whose
    ``pytestmark`` has it) runs, fixtures included, with the clock stopped at that instant.
    The test's own mark wins over its module's. Request the fixture to move the clock:
    ``frozen_clock.move_to(...)`` or ``frozen_clock.shift(timedelta(...))``."""
    marker = request.node.get_closest_marker("frozen_at")
    if marker is None:
        yield None
        return
    (at,) = marker.args
    if not isinstance(at, datetime) or at.tzinfo is None:
        raise TypeError(f"frozen_at takes an aware datetime, not {at!r}")
    with time_machine.travel(at, tick=False) as traveller:
        yield traveller


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
        monkeypatch.setattr("tickets.mail.outbox._enqueue", sent.append)
    return sent


@pytest.fixture(autouse=True)
def events_consumed_on_commit(request, monkeypatch) -> None:
    """The event log's consumers run right after the commit that recorded the events, in
    this process, as the worker woken by the nudge would. Tests with
    ``@pytest.mark.real_tasks`` leave them to a real worker and beat."""
    if "real_tasks" not in request.keywords:
        from tickets.events import events_consume

        monkeypatch.setattr("tickets.events.nudge", events_consume)


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


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A PostgreSQL cluster of the reliability tests' own (fsync on), which a test may crash
    and start again without harm to the rest of the suite; its migrated database ``dast`` is
    the template of each test's database (``postgres.create_database``)."""
    from tests.timerproc import Postgres  # not before pytest imports the mail servers plugin

    # Not under pytest's tmp folder: the postgres user must be able to reach its data.
    root = Path(tempfile.mkdtemp(prefix="dast-own-pg-"))
    os.chmod(root, 0o755)  # noqa: S103
    try:
        try:
            server = Postgres(root)
        except (ServerError, OSError, subprocess.CalledProcessError) as exc:
            need_server("PostgreSQL", str(exc))
        try:
            server.migrate()
            yield server
        finally:
            server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Redis]:
    """A Redis of the test's own, which it may flush, stop and start again."""
    from tests.timerproc import Redis

    try:
        server = Redis(tmp_path)
    except (ServerError, OSError, subprocess.CalledProcessError) as exc:
        need_server("Redis", str(exc))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def browser_context(monkeypatch):
    if chromium_path() is None:
        need_server("Chromium", "/usr/bin/chromium is missing")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # meanwhile are still synchronous and safe.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with chromium() as context:
        yield context

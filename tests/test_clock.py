"""The tests' clock (tests/conftest.py): `frozen_at` stops it at one instant for a test and
its fixtures; the test's own mark wins over its module's; `frozen_clock` moves it."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

GENEVA = ZoneInfo("Europe/Zurich")
MONDAY_9 = datetime(2026, 11, 16, 9, 0, tzinfo=GENEVA)
SATURDAY_12 = datetime(2026, 11, 21, 12, 0, tzinfo=GENEVA)
pytestmark = pytest.mark.frozen_at(MONDAY_9)


@pytest.fixture
def seen_by_a_fixture() -> datetime:
    return timezone.now()


def test_the_module_mark_freezes_the_test_and_its_fixtures(seen_by_a_fixture):
    time.sleep(0.01)
    assert seen_by_a_fixture == timezone.now() == MONDAY_9


@pytest.mark.frozen_at(SATURDAY_12)
def test_a_tests_own_mark_wins_over_its_modules():
    assert timezone.now() == SATURDAY_12


def test_the_fixture_moves_the_stopped_clock(frozen_clock):
    frozen_clock.shift(timedelta(minutes=61))
    assert timezone.now() == MONDAY_9 + timedelta(minutes=61)
    frozen_clock.move_to(SATURDAY_12)
    assert timezone.now() == SATURDAY_12

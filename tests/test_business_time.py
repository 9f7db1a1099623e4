"""Business-time arithmetic: targets across weekends, closures, nights and DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from escalation.businesstime import (
    NoBusinessTime,
    WorkingHours,
    add_business_time,
    business_time_between,
    intervals_calendar,
)
from shifts.rota import ZoneHours, slots_in

GENEVA = ZoneInfo("Europe/Zurich")
WORK = WorkingHours(GENEVA)
HOURS = timedelta(hours=1)


def geneva(*args: int) -> datetime:
    return datetime(*args, tzinfo=GENEVA)


def covered(first: date, last: date, closures=()):
    zones = [
        ZoneHours("EU", time(8), 8 * HOURS, frozenset(range(1, 6))),
        ZoneHours("NA", time(16), 8 * HOURS, frozenset(range(1, 6))),
    ]
    slots = [s for z in zones for s in slots_in(z, first, last, GENEVA, closures)]
    return intervals_calendar([(s.starts_at, s.ends_at) for s in slots], GENEVA)


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        (geneva(2026, 11, 18, 10, 0), 8, geneva(2026, 11, 19, 10, 0)),  # one working day
        (geneva(2026, 11, 20, 15, 0), 8, geneva(2026, 11, 23, 15, 0)),  # Friday -> Monday
        (geneva(2026, 11, 20, 15, 0), 16, geneva(2026, 11, 24, 15, 0)),  # two days for sites
        (geneva(2026, 11, 21, 11, 0), 8, geneva(2026, 11, 23, 16, 0)),  # Saturday: from Monday
        (geneva(2026, 11, 18, 20, 0), 1, geneva(2026, 11, 19, 9, 0)),  # evening: next morning
        (geneva(2026, 11, 18, 16, 0), 0, geneva(2026, 11, 19, 8, 0)),  # closed: next opening
    ],
)
def test_working_hour_targets_skip_nights_and_weekends(start, hours, due):
    assert add_business_time(start, hours * HOURS, WORK, GENEVA) == due


def test_a_target_skips_the_end_of_year_closure():
    closed = WorkingHours(GENEVA, closures=((date(2026, 12, 24), date(2027, 1, 3)),))
    due = add_business_time(geneva(2026, 12, 23, 14, 0), 8 * HOURS, closed, GENEVA)
    assert due == geneva(2027, 1, 4, 14, 0)


def test_five_and_ten_working_days_for_waiting_on_user():
    start = geneva(2026, 11, 18, 11, 0)  # Wednesday
    assert add_business_time(start, 40 * HOURS, WORK, GENEVA) == geneva(2026, 11, 25, 11, 0)
    assert add_business_time(start, 80 * HOURS, WORK, GENEVA) == geneva(2026, 12, 2, 11, 0)


def test_a_working_day_across_the_spring_change_is_eight_real_hours():
    # 2027-03-28 is the Sunday the clocks go forward: Friday 12:00 CET + 8 working hours.
    start = geneva(2027, 3, 26, 12, 0)
    due = add_business_time(start, 8 * HOURS, WORK, GENEVA)
    assert due == geneva(2027, 3, 29, 12, 0)  # Monday 12:00 CEST
    assert due.astimezone(UTC) - start.astimezone(UTC) == timedelta(days=3) - HOURS


def test_a_ticket_on_friday_at_23_is_not_late_on_saturday():
    calendar = covered(date(2026, 11, 19), date(2026, 11, 30))
    arrived = geneva(2026, 11, 20, 23, 0)  # one covered hour left on Friday's NA shift
    due = add_business_time(arrived, 2 * HOURS, calendar, GENEVA)
    assert due == geneva(2026, 11, 23, 9, 0)  # Monday, after one hour of the EU shift


def test_covered_hours_across_the_autumn_night_count_real_time():
    # 2026-10-25 03:00 CEST -> 02:00 CET. Friday the 23rd at 23:30: 30 minutes left of NA.
    calendar = covered(date(2026, 10, 22), date(2026, 10, 30))
    due = add_business_time(geneva(2026, 10, 23, 23, 30), 2 * HOURS, calendar, GENEVA)
    assert due == geneva(2026, 10, 26, 9, 30)
    assert due.astimezone(GENEVA).utcoffset() == HOURS  # CET by then


def test_business_time_between_counts_only_open_hours():
    friday, tuesday = geneva(2026, 11, 20, 15, 0), geneva(2026, 11, 24, 9, 30)
    assert business_time_between(friday, tuesday, WORK, GENEVA) == timedelta(hours=10.5)
    assert business_time_between(tuesday, friday, WORK, GENEVA) == timedelta()
    calendar = covered(date(2026, 11, 19), date(2026, 11, 30))
    assert business_time_between(friday, tuesday, calendar, GENEVA) == timedelta(hours=26.5)


def test_a_calendar_without_open_time_fails_loudly():
    with pytest.raises(NoBusinessTime):
        add_business_time(geneva(2026, 11, 18, 10), HOURS, lambda day: [], GENEVA, horizon_days=30)

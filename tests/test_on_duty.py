"""Who is on shift at an instant, at the edges of the covered hours, across DST and closures."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from shifts.models import Booking, Closure, ShiftRole, Zone
from shifts.rota import ZoneHours, covering_slot
from shifts.selectors import next_shift_start, on_duty
from tests.factories import TeamFactory, UserFactory

GENEVA = ZoneInfo("Europe/Zurich")
EU = ZoneHours("EU", time(8), timedelta(hours=8), frozenset(range(1, 6)))
NA = ZoneHours("NA", time(16), timedelta(hours=8), frozenset(range(1, 6)))


def geneva(*args: int) -> datetime:
    return datetime(*args, tzinfo=GENEVA)


@pytest.mark.parametrize(
    ("at", "zone"),
    [
        (geneva(2026, 11, 18, 7, 59, 59), None),
        (geneva(2026, 11, 18, 8, 0, 0), "EU"),
        (geneva(2026, 11, 18, 15, 59, 59), "EU"),
        (geneva(2026, 11, 18, 16, 0, 0), "NA"),
        (geneva(2026, 11, 18, 23, 59, 59), "NA"),
        (geneva(2026, 11, 19, 0, 0, 0), None),
        (geneva(2026, 11, 21, 11, 0, 0), None),  # a Saturday
        (geneva(2026, 11, 20, 23, 30, 0), "NA"),  # Friday night is still Friday's shift
    ],
)
def test_the_covering_zone_at_the_edges_of_the_shifts(at, zone):
    slot = covering_slot([EU, NA], at, GENEVA)
    assert (slot.zone if slot else None) == zone


def test_after_the_spring_change_the_eu_shift_starts_an_hour_earlier_in_utc():
    friday = covering_slot([EU, NA], datetime(2026, 3, 27, 7, 0, tzinfo=UTC), GENEVA)
    monday = covering_slot([EU, NA], datetime(2026, 3, 30, 6, 0, tzinfo=UTC), GENEVA)
    assert friday is not None
    assert friday.zone == "EU"
    assert monday is not None
    assert monday.zone == "EU"
    assert covering_slot([EU, NA], datetime(2026, 3, 30, 5, 59, 59, tzinfo=UTC), GENEVA) is None


def test_after_the_autumn_change_the_na_shift_ends_an_hour_later_in_utc():
    friday_end = datetime(2026, 10, 23, 22, 0, tzinfo=UTC)  # 24:00 CEST
    monday_end = datetime(2026, 10, 26, 23, 0, tzinfo=UTC)  # 24:00 CET
    assert covering_slot([EU, NA], friday_end - timedelta(seconds=1), GENEVA).zone == "NA"
    assert covering_slot([EU, NA], friday_end, GENEVA) is None
    assert covering_slot([EU, NA], monday_end - timedelta(seconds=1), GENEVA).zone == "NA"
    assert covering_slot([EU, NA], monday_end, GENEVA) is None


@pytest.mark.parametrize(
    ("night", "ends_local"),
    [(date(2026, 3, 28), time(7, 0)), (date(2026, 10, 24), time(5, 0))],
)
def test_a_night_shift_is_eight_real_hours_on_the_nights_the_clocks_change(night, ends_local):
    weekend_night = ZoneHours("NIGHT", time(22), timedelta(hours=8), frozenset({6}))
    start = datetime.combine(night, time(22), tzinfo=GENEVA)
    slot = covering_slot([weekend_night], start + timedelta(hours=3), GENEVA)
    assert slot is not None
    assert slot.ends_at - slot.starts_at == timedelta(hours=8)
    assert (slot.ends_at.astimezone(GENEVA).time(), slot.day) == (ends_local, night)
    assert covering_slot([weekend_night], slot.ends_at, GENEVA) is None


def test_a_closure_covers_nobody():
    christmas = [(date(2026, 12, 24), date(2027, 1, 2))]
    assert covering_slot([EU, NA], geneva(2026, 12, 28, 10, 0), GENEVA, christmas) is None
    assert covering_slot([EU, NA], geneva(2027, 1, 4, 10, 0), GENEVA, christmas).zone == "EU"


@pytest.fixture
def calendar(db):
    team = TeamFactory(slug="dast", ticket_prefix="DAST")
    eu = Zone.objects.create(team=team, code="EU", name="Europe", starts_at=time(8))
    Zone.objects.create(team=team, code="NA", name="North America", starts_at=time(16))
    anna, tomas = UserFactory(username="anna"), UserFactory(username="tomas")
    day = date(2026, 11, 18)
    Booking.objects.create(zone=eu, day=day, person=anna, role=ShiftRole.FIRST_LEVEL)
    Booking.objects.create(zone=eu, day=day, person=tomas, role=ShiftRole.TRAINEE)
    Closure.objects.create(
        team=team, starts_on=date(2026, 12, 24), ends_on=date(2027, 1, 2), reason="CERN closure"
    )
    return team


def test_on_duty_names_the_booked_shifter_and_trainee_in_three_queries(
    calendar, django_assert_num_queries
):
    with django_assert_num_queries(3):
        duty = on_duty(calendar, geneva(2026, 11, 18, 9, 30))
        assert [b.person.username for b in duty.first_level] == ["anna"]
        assert [b.person.username for b in duty.trainees] == ["tomas"]
    assert duty.slot.zone == "EU"


def test_an_uncovered_slot_is_on_duty_with_nobody(calendar):
    duty = on_duty(calendar, geneva(2026, 11, 18, 17, 0))
    assert duty.slot.zone == "NA"
    assert duty.bookings == ()


def test_the_next_shift_after_friday_night_is_monday_morning(calendar):
    after = geneva(2026, 11, 21, 0, 30)
    assert next_shift_start(calendar, after).starts_at == geneva(2026, 11, 23, 8, 0)
    assert next_shift_start(calendar, geneva(2026, 12, 23, 17, 0)).starts_at == geneva(
        2027, 1, 4, 8, 0
    )

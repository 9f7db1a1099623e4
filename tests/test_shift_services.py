"""Booking, release, swaps, zone hours, coverage alerts and credits: the calendar's rules."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from people.models import Role
from shifts.models import (
    Booking,
    Closure,
    CoverageAlert,
    ShiftRole,
    SwapRequest,
    SwapState,
    Zone,
)
from shifts.rota import ZoneHours, overlap
from shifts.selectors import credit_totals, month_grid, uncovered_slots
from shifts.services import (
    ShiftError,
    ShiftForbidden,
    ZoneSpec,
    booking_create,
    booking_remove,
    closure_create,
    coverage_alert_send,
    swap_cancel,
    swap_decide,
    swap_request,
    zone_save,
)
from tests.factories import shift_team
from tickets.models import OutboundMail

pytestmark = pytest.mark.django_db
GENEVA = ZoneInfo("Europe/Zurich")
NOW = datetime(2026, 11, 16, 9, 0, tzinfo=GENEVA)  # a Monday morning
WED = date(2026, 11, 18)


@pytest.fixture
def team():
    team = shift_team(
        {
            "elena": Role.COORDINATOR,
            "anna": Role.SHIFTER,
            "pierre": Role.SHIFTER,
            "tomas": Role.TRAINEE,
            "paul": Role.EXPERT,
        },
        last_name="",
    )
    Closure.objects.create(
        team=team, starts_on=date(2026, 12, 24), ends_on=date(2027, 1, 2), reason="CERN closure"
    )
    return team


def book(team, name, day=WED, role=ShiftRole.FIRST_LEVEL, by=None, zone=None, at=NOW):
    person = team.people[name]
    return booking_create(
        zone=zone or team.eu, day=day, person=person, role=role, by=by or person, at=at
    )


# --- booking ----------------------------------------------------------------------------------


def test_a_shifter_books_their_own_slot_and_a_coordinator_books_anyone(team):
    book(team, "anna")
    book(team, "pierre", by=team.people["elena"])
    assert set(Booking.objects.values_list("person__username", flat=True)) == {"anna", "pierre"}


def test_a_shifter_cannot_book_someone_else(team):
    with pytest.raises(ShiftForbidden, match="Only a coordinator"):
        book(team, "pierre", by=team.people["anna"])
    assert not Booking.objects.exists()


@pytest.mark.parametrize(
    ("day", "message"),
    [
        (date(2026, 12, 28), "closed on 28 December 2026 \\(CERN closure\\)"),
        (date(2026, 11, 21), "EU has no shift on Saturday"),
        (date(2026, 11, 16), "in the past"),  # today's slot started at 08:00
        (date(2026, 11, 13), "in the past"),
    ],
)
def test_a_closed_weekend_or_past_slot_cannot_be_booked(team, day, message):
    with pytest.raises(ShiftError, match=message) as refused:
        book(team, "anna", day=day)
    assert refused.value.field == "day"
    assert not Booking.objects.exists()


def test_the_same_person_cannot_be_booked_twice_on_a_slot(team):
    book(team, "anna")
    with pytest.raises(ShiftError, match="already booked"):
        book(team, "anna", by=team.people["elena"])
    assert Booking.objects.count() == 1


def test_only_shifters_are_booked_first_level_and_only_trainees_as_trainee(team):
    with pytest.raises(ShiftError, match="Paul is not a first-level shifter"):
        book(team, "paul", by=team.people["elena"])
    with pytest.raises(ShiftError, match="not a first-level shifter"):
        book(team, "tomas")  # a trainee booking themselves as first level
    book(team, "anna")
    with pytest.raises(ShiftError, match="not a trainee shifter"):
        book(team, "pierre", role=ShiftRole.TRAINEE)
    assert Booking.objects.count() == 1


def test_a_trainee_only_slot_is_refused(team):
    with pytest.raises(ShiftError, match="trainee-only slot"):
        book(team, "tomas", role=ShiftRole.TRAINEE)
    book(team, "anna")
    book(team, "tomas", role=ShiftRole.TRAINEE)
    assert Booking.objects.filter(day=WED).count() == 2


# --- release ----------------------------------------------------------------------------------


def test_a_shifter_releases_their_slot_until_48_hours_before_it(team):
    booking = book(team, "anna")
    with pytest.raises(ShiftForbidden, match="within 48 hours"):
        booking_remove(booking=booking, by=team.people["anna"], at=NOW + timedelta(hours=1))
    booking_remove(booking=booking, by=team.people["anna"], at=NOW - timedelta(hours=1))
    assert not Booking.objects.exists()


def test_a_coordinator_releases_a_slot_at_short_notice_and_corrects_a_past_one(team):
    booking = book(team, "anna")
    booking_remove(booking=booking, by=team.people["elena"], at=NOW + timedelta(hours=47))
    past = book(team, "pierre")
    booking_remove(booking=past, by=team.people["elena"], at=NOW + timedelta(days=5))
    assert not Booking.objects.exists()


def test_nobody_else_releases_a_shifters_slot(team):
    booking = book(team, "anna")
    with pytest.raises(ShiftForbidden):
        booking_remove(booking=booking, by=team.people["pierre"], at=NOW)
    assert Booking.objects.count() == 1


def test_releasing_the_last_first_level_shifter_under_a_trainee_is_refused(team):
    anna = book(team, "anna")
    book(team, "tomas", role=ShiftRole.TRAINEE)
    with pytest.raises(ShiftError, match="trainee alone"):
        booking_remove(booking=anna, by=team.people["elena"], at=NOW)
    book(team, "pierre", by=team.people["elena"])
    booking_remove(booking=anna, by=team.people["elena"], at=NOW)
    assert Booking.objects.filter(day=WED).count() == 2


# --- swaps ------------------------------------------------------------------------------------


def test_an_accepted_swap_exchanges_the_two_bookings_and_both_hear_of_it(team, enqueued):
    mine = book(team, "anna")
    theirs = book(team, "pierre", day=WED + timedelta(days=1))
    swap = swap_request(
        booking=mine, asked=team.people["pierre"], by=team.people["anna"], in_return=theirs, at=NOW
    )
    assert OutboundMail.objects.filter(to="pierre@example.org", subject__contains="Swap").exists()
    mine.refresh_from_db()
    assert mine.person.username == "anna"  # nothing moves before the answer
    swap_decide(swap=swap, by=team.people["pierre"], accept=True, at=NOW)
    mine.refresh_from_db()
    theirs.refresh_from_db()
    swap.refresh_from_db()
    assert (mine.person.username, theirs.person.username) == ("pierre", "anna")
    assert swap.state == SwapState.ACCEPTED
    assert OutboundMail.objects.filter(to="anna@example.org", subject__contains="accepted").exists()


def test_only_the_asked_shifter_answers_and_only_once(team):
    mine = book(team, "anna")
    swap = swap_request(booking=mine, asked=team.people["pierre"], by=team.people["anna"], at=NOW)
    with pytest.raises(ShiftForbidden):
        swap_decide(swap=swap, by=team.people["anna"], accept=True, at=NOW)
    swap_decide(swap=swap, by=team.people["pierre"], accept=False, at=NOW)
    with pytest.raises(ShiftError, match="already declined"):
        swap_decide(swap=swap, by=team.people["pierre"], accept=True, at=NOW)
    mine.refresh_from_db()
    assert mine.person.username == "anna"


def test_a_swap_needs_the_asked_person_to_hold_the_role_and_be_free(team):
    mine = book(team, "anna")
    with pytest.raises(ShiftError, match="not a first-level shifter"):
        swap_request(booking=mine, asked=team.people["tomas"], by=team.people["anna"], at=NOW)
    book(team, "pierre")
    with pytest.raises(ShiftError, match="already booked on that slot"):
        swap_request(booking=mine, asked=team.people["pierre"], by=team.people["anna"], at=NOW)
    assert not SwapRequest.objects.exists()


def test_a_booking_has_one_pending_swap_and_the_asker_may_withdraw_it(team):
    mine = book(team, "anna")
    swap = swap_request(booking=mine, asked=team.people["pierre"], by=team.people["anna"], at=NOW)
    with pytest.raises(ShiftError, match="already has a swap request"):
        swap_request(booking=mine, asked=team.people["pierre"], by=team.people["anna"], at=NOW)
    swap_cancel(swap=swap, by=team.people["anna"])
    swap.refresh_from_db()
    assert swap.state == SwapState.CANCELLED
    swap_request(booking=mine, asked=team.people["pierre"], by=team.people["anna"], at=NOW)


# --- zones ------------------------------------------------------------------------------------


def test_zone_hours_that_overlap_another_zone_are_refused_and_nothing_is_written(team):
    with pytest.raises(ShiftError, match="overlaps EU on Mondays"):
        zone_save(team=team, spec=ZoneSpec("AS", "Asia", time(15), 120))
    assert Zone.objects.filter(team=team).count() == 2


def test_a_weekend_zone_and_a_night_zone_fit_beside_eu_and_na(team):
    zone_save(team=team, spec=ZoneSpec("WE", "Weekend", time(8), 16 * 60, "67"))
    zone_save(team=team, spec=ZoneSpec("AS", "Asia", time(0), 8 * 60, "2345"))
    assert Zone.objects.filter(team=team).count() == 4


def test_a_sunday_night_zone_running_into_monday_overlaps_a_monday_night_zone():
    sunday_late = ZoneHours("A", time(22), timedelta(hours=4), frozenset({7}))
    monday_early = ZoneHours("B", time(1), timedelta(hours=2), frozenset({1}))
    assert overlap(sunday_late, monday_early) == 7
    assert (
        overlap(monday_early, ZoneHours("C", time(3), timedelta(hours=1), frozenset({1}))) is None
    )


# --- coverage alerts --------------------------------------------------------------------------


def test_the_coordinator_hears_of_uncovered_slots_once_per_slot_a_day(team, settings, enqueued):
    settings.SHIFT_COVERAGE_ALERT_DAYS = 7
    for offset in range(0, 9):
        day = date(2026, 11, 16) + timedelta(days=offset)
        if day.isoweekday() <= 5 and day != WED:
            book(team, "anna", day=day, by=team.people["elena"], at=NOW - timedelta(days=1))
    # EU (coordinated by Elena) is uncovered on Wednesday only; NA has no coordinator.
    assert coverage_alert_send(at=NOW) == 1
    mail = OutboundMail.objects.get(to="elena@example.org")
    assert "1 uncovered EU slot" in mail.subject
    assert "Wed 18 Nov 08:00-16:00" in mail.body_text
    link = f"\nhttp://127.0.0.1:8000/shifts/?team={team.slug}&month=2026-11#d2026-11-18\n"
    assert mail.body_text.endswith(link)  # the calendar's month, at the first uncovered day
    assert coverage_alert_send(at=NOW + timedelta(hours=3)) == 0
    Booking.objects.filter(day=date(2026, 11, 19)).delete()  # a new gap the same day
    assert coverage_alert_send(at=NOW + timedelta(hours=4)) == 1
    assert OutboundMail.objects.filter(to="elena@example.org").count() == 2
    assert coverage_alert_send(at=NOW + timedelta(days=1)) == 2  # the next day: again
    assert CoverageAlert.objects.count() == 4


def test_no_alert_for_closed_days_or_slots_already_started(team, settings, enqueued):
    settings.SHIFT_COVERAGE_ALERT_DAYS = 3
    christmas_eve = datetime(2026, 12, 23, 12, 0, tzinfo=GENEVA)  # Wed; closure from the 24th
    assert coverage_alert_send(at=christmas_eve) == 0
    assert not OutboundMail.objects.exists()


# --- grid and credits -------------------------------------------------------------------------


def test_the_month_grid_marks_uncovered_closed_and_weekend_cells_in_three_queries(
    team, django_assert_num_queries
):
    book(team, "anna")
    book(team, "tomas", role=ShiftRole.TRAINEE)
    with django_assert_num_queries(3):
        grid = month_grid(team, 2026, 12)
    eu = grid[0]
    cells = {c.day: c for week in eu.weeks for c in week if c is not None}
    assert len(cells) == 31
    assert cells[date(2026, 12, 28)].closed == "CERN closure"
    assert not cells[date(2026, 12, 28)].uncovered
    assert cells[date(2026, 12, 5)].slot is None  # Saturday
    assert cells[date(2026, 12, 1)].uncovered
    assert eu.weeks[0][0] is None  # 1 December 2026 is a Tuesday
    wednesday = {c.day: c for week in month_grid(team, 2026, 11)[0].weeks for c in week if c}[WED]
    assert not wednesday.uncovered
    assert wednesday.credit == 150


def test_credits_count_only_slots_that_have_ended_with_the_configured_weights(team, settings):
    settings.SHIFT_CREDIT_WEIGHTS = {"first_level": 100, "trainee": 40}
    for day in (WED, WED + timedelta(days=1), WED + timedelta(days=2)):
        book(team, "anna", day=day)
        book(team, "tomas", day=day, role=ShiftRole.TRAINEE)
    book(team, "pierre", day=WED, zone=team.na)
    # Thursday 16:00: Wednesday's slots and Thursday's EU slot have ended, Friday's not.
    at = datetime(2026, 11, 19, 16, 0, tzinfo=GENEVA)
    rows = {
        r.person.username: r
        for r in credit_totals(team, date(2026, 11, 1), WED + timedelta(30), at)
    }
    assert (rows["anna"].first_level, rows["anna"].credit) == (2, 200)
    assert (rows["tomas"].trainee, rows["tomas"].credit) == (2, 80)
    assert rows["pierre"].credit == 100
    assert [r.person.username for r in credit_totals(team, WED, WED, at)] == [
        "anna",
        "pierre",
        "tomas",
    ]


def test_uncovered_slots_skip_closures_and_weekends(team):
    slots = uncovered_slots(team.eu, date(2026, 12, 21), date(2027, 1, 5))
    assert [s.day for s in slots] == [
        date(2026, 12, 21),
        date(2026, 12, 22),
        date(2026, 12, 23),
        date(2027, 1, 4),
        date(2027, 1, 5),
    ]


@pytest.mark.frozen_at(NOW)
def test_services_default_to_the_current_time(team):
    with pytest.raises(ShiftError, match="in the past"):
        booking_create(
            zone=team.eu,
            day=date(2026, 11, 16),
            person=team.people["anna"],
            role=ShiftRole.FIRST_LEVEL,
            by=team.people["anna"],
        )
    assert book(team, "anna", day=date(2026, 11, 17), at=None).day == date(2026, 11, 17)


# --- closures and zone input --------------------------------------------------------------


def test_closing_days_releases_their_bookings_and_tells_the_holders(team, enqueued):
    book(team, "anna", day=date(2026, 12, 1))
    book(team, "pierre", day=date(2026, 12, 2))
    closure_create(
        team=team,
        starts_on=date(2026, 12, 2),
        ends_on=date(2026, 12, 3),
        reason="Power cut",
        at=NOW,
    )
    assert list(Booking.objects.values_list("person__username", flat=True)) == ["anna"]
    mail = OutboundMail.objects.get(to="pierre@example.org")
    assert "Power cut" in mail.body_text


def test_a_closure_cannot_start_today_or_end_before_it_starts(team):
    with pytest.raises(ShiftError, match="starts after today"):
        closure_create(
            team=team, starts_on=date(2026, 11, 16), ends_on=date(2026, 11, 20), reason="x", at=NOW
        )
    with pytest.raises(ShiftError, match="ends on or after"):
        closure_create(
            team=team, starts_on=date(2026, 12, 5), ends_on=date(2026, 12, 4), reason="x", at=NOW
        )
    assert Closure.objects.count() == 1  # the fixture's


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        (ZoneSpec("AS", "Asia", time(0), 480, "mon"), "weekdays"),
        (ZoneSpec("AS", "Asia", time(0), 0, "6"), "duration_minutes"),
        (ZoneSpec("asia", "Asia", time(0), 480, "6"), "code"),
        (ZoneSpec("EU", "Again", time(0), 60, "7"), "code"),
    ],
)
def test_bad_zone_input_names_the_field_and_writes_nothing(team, spec, field):
    with pytest.raises(ShiftError) as refused:
        zone_save(team=team, spec=spec)
    assert refused.value.field == field
    assert Zone.objects.filter(team=team).count() == 2


def test_a_coordinator_corrects_a_no_show_and_the_trainee_keeps_the_credit(team):
    anna = book(team, "anna")
    book(team, "tomas", role=ShiftRole.TRAINEE)
    booking_remove(booking=anna, by=team.people["elena"], at=NOW + timedelta(days=3))
    assert list(Booking.objects.values_list("person__username", flat=True)) == ["tomas"]


def test_bookings_on_a_closed_day_earn_no_credit_in_the_grid(team):
    Booking.objects.create(
        zone=team.eu, day=date(2026, 12, 28), person=team.people["anna"], role=ShiftRole.FIRST_LEVEL
    )
    cells = {c.day: c for w in month_grid(team, 2026, 12)[0].weeks for c in w if c}
    assert cells[date(2026, 12, 28)].credit == 0
    assert cells[date(2026, 12, 28)].closed

"""A reopened ticket goes back to its owner when on shift, else to whoever is on shift."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from dispatch.routing import route_waiting, ticket_reroute
from people.models import Role
from shifts.models import ShiftRole
from tests import events
from tests.factories import MailboxFactory, TicketFactory, shift_team
from tests.mailfactory import make_mail
from tickets.mail.intake import raw_process, raw_store
from tickets.models import Status, Ticket
from tickets.models.mail import RawSource
from tickets.services.tickets import ticket_set_status

pytestmark = pytest.mark.django_db
GENEVA = ZoneInfo("Europe/Zurich")
WEDNESDAY = date(2026, 11, 18)
SATURDAY = date(2026, 11, 21)
MONDAY = date(2026, 11, 23)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=GENEVA)


@pytest.fixture
def team():
    team = shift_team(
        {"anna": Role.SHIFTER, "pierre": Role.SHIFTER, "sofia": Role.SHIFTER, "tomas": Role.TRAINEE}
    )
    people = team.people
    for zone, day, name, role in (
        (team.eu, WEDNESDAY, "anna", ShiftRole.FIRST_LEVEL),
        (team.eu, WEDNESDAY, "pierre", ShiftRole.FIRST_LEVEL),
        (team.eu, WEDNESDAY, "tomas", ShiftRole.TRAINEE),
        (team.na, WEDNESDAY, "sofia", ShiftRole.FIRST_LEVEL),
        (team.eu, MONDAY, "pierre", ShiftRole.FIRST_LEVEL),
    ):
        zone.bookings.create(day=day, person=people[name], role=role)
    return team


def _reopened(team, owner: str, shadow: str | None = None) -> Ticket:
    """A ticket of ``owner`` that a reply has just reopened (as intake leaves it)."""
    people = team.people
    return TicketFactory(
        team=team,
        assignee=people[owner],
        shadow=people[shadow] if shadow else None,
        zone="EU",
        status=Status.OPEN,
        reopen_count=1,
    )


def test_a_reopened_ticket_whose_owner_is_on_shift_stays_with_them(team):
    ticket = _reopened(team, "anna", shadow="tomas")
    TicketFactory.create_batch(3, team=team, assignee=team.people["anna"], status=Status.OPEN)
    route = ticket_reroute(ticket=ticket, at=_at(WEDNESDAY, 10))
    ticket.refresh_from_db()
    assert route.assignee == team.people["anna"]
    assert (ticket.assignee, ticket.shadow) == (team.people["anna"], team.people["tomas"])


def test_a_reopened_ticket_whose_owner_is_off_shift_goes_to_the_shifter_on_duty(team):
    people = team.people
    ticket = _reopened(team, "sofia")
    TicketFactory.create_batch(2, team=team, assignee=people["anna"], status=Status.OPEN)
    route = ticket_reroute(ticket=ticket, at=_at(WEDNESDAY, 10))
    ticket.refresh_from_db()
    assert route.routed
    assert (ticket.assignee, ticket.shadow, ticket.zone, ticket.after_hours) == (
        people["pierre"],
        people["tomas"],
        "EU",
        False,
    )


def test_a_reopened_ticket_with_nobody_on_shift_waits_with_its_owner_for_the_next_shift(team):
    ticket = _reopened(team, "anna", shadow="tomas")
    route = ticket_reroute(ticket=ticket, at=_at(SATURDAY, 11))
    ticket.refresh_from_db()
    assert not route.routed
    assert (ticket.assignee, ticket.after_hours) == (team.people["anna"], True)
    assert route_waiting(at=_at(MONDAY, 8, 5)) == 1
    ticket.refresh_from_db()
    assert ticket.assignee == team.people["pierre"]


def test_an_uncovered_slot_counts_as_nobody_on_shift(team):
    ticket = _reopened(team, "anna")
    ticket_reroute(ticket=ticket, at=_at(date(2026, 11, 19), 10))  # Thursday: EU unbooked
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.after_hours) == (team.people["anna"], True)


@pytest.mark.frozen_at(_at(WEDNESDAY, 10))
def test_a_reply_reopening_a_ticket_routes_it_again_once_intake_has_committed(
    team, django_capture_on_commit_callbacks, frozen_clock
):
    MailboxFactory(team=team)

    def deliver(raw: bytes):
        with django_capture_on_commit_callbacks() as callbacks:
            result = raw_process(raw_store(team=team, raw=raw, source=RawSource.IMAP))
        return result, callbacks

    result, callbacks = deliver(make_mail())
    for callback in callbacks:
        callback()
    ticket = result.ticket
    ticket.refresh_from_db()
    morning_owner = ticket.assignee
    assert morning_owner in (team.people["anna"], team.people["pierre"])
    frozen_clock.move_to(_at(WEDNESDAY, 11))
    ticket_set_status(ticket=ticket, status=Status.RESOLVED)

    frozen_clock.move_to(_at(WEDNESDAY, 20))
    reply = make_mail(subject=f"Re: [{ticket.reference}] it fails again")
    result, callbacks = deliver(reply)
    assert result.outcome == "reopened"
    ticket.refresh_from_db()
    assert (ticket.status, ticket.assignee) == (Status.OPEN, morning_owner)
    # Recorded with the intake, in its transaction; routed only by the consumer after commit.
    assert events.kinds(ticket, "reopened", "message_received") == [
        "reopened",
        "message_received",
    ]
    assert ("reopened", "routing") in events.pending(ticket)
    for callback in callbacks:
        callback()
    assert events.pending(ticket) == []
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.zone) == (team.people["sofia"], "NA")

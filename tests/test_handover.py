"""Shift handover: at each slot's end, unanswered tickets pass to the incoming shifters."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dispatch.handover import handover_run, slot_hand_over
from dispatch.models import Handover
from dispatch.routing import route_waiting
from people.models import Role
from shifts.models import Booking, ShiftRole, Zone
from shifts.rota import slot_on
from shifts.selectors import zone_hours
from tests.factories import MessageFactory, TeamFactory, TicketFactory, UserFactory, shift_team
from tickets.models import MessageKind, OutboundMail, Status, Ticket
from tickets.models.mail import OutboundKind

pytestmark = pytest.mark.django_db
GENEVA = ZoneInfo("Europe/Zurich")
WEDNESDAY = date(2026, 11, 18)
THURSDAY = date(2026, 11, 19)


def _at(day: date, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute, second), tzinfo=GENEVA)


@pytest.fixture
def team():
    team = shift_team(
        {
            "anna": Role.SHIFTER,
            "pierre": Role.SHIFTER,
            "sofia": Role.SHIFTER,
            "marcus": Role.SHIFTER,
            "tomas": Role.TRAINEE,
            "lucy": Role.TRAINEE,
        }
    )
    team.book = lambda zone, day, name, role=ShiftRole.FIRST_LEVEL: Booking.objects.create(
        zone=zone, day=day, person=team.people[name], role=role
    )
    return team


def _tickets(team, owner: str, *statuses: Status, **fields) -> list[Ticket]:
    fields.setdefault("created_at", _at(WEDNESDAY, 9, 30))
    return [
        TicketFactory(team=team, assignee=team.people[owner], status=status, **fields)
        for status in statuses
    ]


def _notifications() -> dict[str, OutboundMail]:
    mails = OutboundMail.objects.filter(kind=OutboundKind.NOTIFICATION)
    return {mail.to: mail for mail in mails}


def test_at_the_eu_shift_end_only_unanswered_tickets_pass_balanced_to_the_na_shifters(
    team, django_capture_on_commit_callbacks, enqueued
):
    people = team.people
    team.book(team.eu, WEDNESDAY, "anna")
    team.book(team.eu, WEDNESDAY, "tomas", ShiftRole.TRAINEE)
    team.book(team.na, WEDNESDAY, "sofia")
    team.book(team.na, WEDNESDAY, "marcus")
    team.book(team.na, WEDNESDAY, "lucy", ShiftRole.TRAINEE)
    unanswered = _tickets(
        team, "anna", Status.NEW, Status.OPEN, Status.OPEN, Status.NEW, shadow=people["tomas"]
    )
    waiting = _tickets(team, "anna", Status.WAITING_ON_USER, Status.WAITING_ON_EXPERT)
    closed = _tickets(team, "anna", Status.CLOSED)
    not_leaving = _tickets(team, "pierre", Status.OPEN)
    MessageFactory(
        ticket=unanswered[0],
        sender_name="Anna Kowalska",
        created_at=_at(WEDNESDAY, 15, 40),
    )
    MessageFactory(
        ticket=unanswered[0],
        kind=MessageKind.NOTE,
        author=people["anna"],
        sender_email="",
        created_at=_at(WEDNESDAY, 11),
    )

    assert handover_run(at=_at(WEDNESDAY, 15, 59, 59)) == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert handover_run(at=_at(WEDNESDAY, 16)) == 4

    for ticket in unanswered:
        ticket.refresh_from_db()
        assert (ticket.shadow, ticket.zone, ticket.after_hours) == (people["lucy"], "NA", False)
    owners = Counter(t.assignee.username for t in unanswered)
    assert owners == {"sofia": 2, "marcus": 2}
    for ticket in [*waiting, *closed]:
        ticket.refresh_from_db()
        assert ticket.assignee == people["anna"]
    not_leaving[0].refresh_from_db()
    assert not_leaving[0].assignee == people["pierre"]

    mails = _notifications()
    assert sorted(mails) == ["marcus@example.org", "sofia@example.org"]
    assert len(enqueued) == 2  # sent by the outbox after commit
    for name in ("sofia", "marcus"):
        body = mails[f"{name}@example.org"].body_text
        for ticket in unanswered:
            assert (f"{ticket.reference}  {ticket.subject}" in body) == (
                ticket.assignee.username == name
            )
        assert "until now with Anna Doe" in body
        assert "Lucy Doe (trainee) shadows them." in body
        assert mails[f"{name}@example.org"].ticket is None
    first = mails[f"{unanswered[0].assignee.email}"]
    assert "open for 6 h 30 min" in first.body_text
    assert "last: inbound email from Anna Kowalska, Wed 18 Nov 15:40" in first.body_text
    assert first.subject == "[ATLAS DAST shifts] Handover: 2 tickets from the EU shift"


def test_running_the_handover_again_moves_and_mails_nothing_more(team):
    team.book(team.eu, WEDNESDAY, "anna")
    team.book(team.na, WEDNESDAY, "sofia")
    tickets = _tickets(team, "anna", Status.OPEN, Status.NEW)
    assert handover_run(at=_at(WEDNESDAY, 16)) == 2
    # Tickets that reach the leaving shifter later are not part of this handover.
    late = _tickets(team, "anna", Status.OPEN)
    assert handover_run(at=_at(WEDNESDAY, 16, 1)) == 0
    slot = slot_on(zone_hours(team.eu), WEDNESDAY, GENEVA)
    assert slot_hand_over(zone=team.eu, slot=slot, at=_at(WEDNESDAY, 16, 2)) == 0
    assert OutboundMail.objects.count() == 1
    assert Handover.objects.get().tickets_moved == 2
    moved = Ticket.objects.filter(pk__in=[t.pk for t in tickets], assignee__username="sofia")
    assert moved.count() == 2
    late[0].refresh_from_db()
    assert late[0].assignee == team.people["anna"]


def test_with_nobody_incoming_the_tickets_wait_for_the_next_mornings_shift(team):
    people = team.people
    team.book(team.na, WEDNESDAY, "sofia")
    team.book(team.eu, THURSDAY, "pierre")
    team.book(team.eu, THURSDAY, "tomas", ShiftRole.TRAINEE)
    tickets = _tickets(team, "sofia", Status.OPEN, Status.NEW, shadow=people["lucy"])
    answered = _tickets(team, "sofia", Status.WAITING_ON_USER)

    assert handover_run(at=_at(WEDNESDAY, 23, 59, 59)) == 0
    assert handover_run(at=_at(THURSDAY, 0)) == 2
    for ticket in tickets:
        ticket.refresh_from_db()
        assert (ticket.assignee, ticket.shadow, ticket.after_hours) == (None, None, True)
    answered[0].refresh_from_db()
    assert answered[0].assignee == people["sofia"]
    assert not OutboundMail.objects.exists()

    assert route_waiting(at=_at(THURSDAY, 7, 59)) == 0
    assert route_waiting(at=_at(THURSDAY, 8)) == 2
    for ticket in tickets:
        ticket.refresh_from_db()
        assert (ticket.assignee, ticket.shadow, ticket.zone, ticket.after_hours) == (
            people["pierre"],
            people["tomas"],
            "EU",
            False,
        )


def test_a_shifter_staying_on_for_the_next_slot_keeps_their_tickets(team):
    people = team.people
    team.book(team.eu, WEDNESDAY, "anna")
    team.book(team.eu, WEDNESDAY, "pierre")
    team.book(team.na, WEDNESDAY, "anna")
    team.book(team.na, WEDNESDAY, "sofia")
    annas = _tickets(team, "anna", Status.OPEN, Status.NEW)
    pierres = _tickets(team, "pierre", Status.OPEN)

    assert handover_run(at=_at(WEDNESDAY, 16)) == 1
    for ticket in annas:
        ticket.refresh_from_db()
        assert ticket.assignee == people["anna"]
    pierres[0].refresh_from_db()
    assert pierres[0].assignee == people["sofia"]  # anna has two already
    assert list(_notifications()) == ["sofia@example.org"]


def test_a_night_shift_across_the_autumn_clock_change_is_handed_over_after_eight_real_hours():
    team = TeamFactory(slug="night", ticket_prefix="NGT", time_zone="Europe/Zurich")
    night = Zone.objects.create(
        team=team, code="NIGHT", name="Night", starts_at=time(22), weekdays="6"
    )
    day = Zone.objects.create(
        team=team, code="DAY", name="Day", starts_at=time(6), duration_minutes=600, weekdays="7"
    )
    owl, lark = UserFactory(username="owl"), UserFactory(username="lark")
    saturday = date(2026, 10, 24)
    Booking.objects.create(zone=night, day=saturday, person=owl, role=ShiftRole.FIRST_LEVEL)
    Booking.objects.create(
        zone=day, day=date(2026, 10, 25), person=lark, role=ShiftRole.FIRST_LEVEL
    )
    ticket = TicketFactory(team=team, assignee=owl, status=Status.OPEN)
    # 22:00 CEST + 8 h = 05:00 CET: an hour before the wall clock says 06:00.
    ends_at = datetime(2026, 10, 25, 4, 0, tzinfo=UTC)
    assert ends_at.astimezone(GENEVA).strftime("%H:%M %Z") == "05:00 CET"

    assert handover_run(at=ends_at - timedelta(seconds=1)) == 0
    ticket.refresh_from_db()
    assert ticket.assignee == owl
    assert handover_run(at=ends_at) == 1
    assert Handover.objects.get().day == saturday
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.after_hours) == (None, True)  # DAY starts at 06:00
    assert route_waiting(at=ends_at + timedelta(minutes=59)) == 0
    assert route_waiting(at=ends_at + timedelta(hours=1)) == 1
    ticket.refresh_from_db()
    assert ticket.assignee == lark


def _queries_of_one_handover(team, day: date, tickets: int) -> int:
    team.book(team.eu, day, "anna")
    team.book(team.na, day, "sofia")
    team.book(team.na, day, "marcus")
    team.book(team.na, day, "lucy", ShiftRole.TRAINEE)
    for ticket in _tickets(team, "anna", *[Status.OPEN] * tickets):
        MessageFactory(ticket=ticket)
    slot = slot_on(zone_hours(team.eu), day, GENEVA)
    with CaptureQueriesContext(connection) as queries:
        assert slot_hand_over(zone=team.eu, slot=slot, at=slot.ends_at) == tickets
    return len(queries)


def test_a_handover_takes_as_many_queries_for_six_tickets_as_for_two(team):
    two = _queries_of_one_handover(team, WEDNESDAY, 2)
    six = _queries_of_one_handover(team, THURSDAY, 6)
    assert two == six
    assert len(_notifications()) == 2
    assert OutboundMail.objects.count() == 4

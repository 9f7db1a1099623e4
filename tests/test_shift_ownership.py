"""Ownership follows the shift: an expert's answer, a requester's reply, a reminder or a
reopening that comes while the owner is off shift goes to whoever is on shift now, and the
ticket's history keeps who had it."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
import time_machine

from dispatch.routing import route_waiting, ticket_reroute
from escalation.addresses import escalation_address
from escalation.models import ExpertGroup, GroupKind, Timer, TimerKind
from escalation.services import escalation_create
from escalation.timers import timer_sweep
from people.models import Role
from shifts.models import Booking, ShiftRole
from tests.factories import MailboxFactory, TicketFactory, shift_team
from tests.mailfactory import make_mail
from tickets.history import history_lines
from tickets.mail.intake import raw_process, raw_store
from tickets.models import OutboundMail, Status, Ticket
from tickets.models.events import EventKind, TicketEvent
from tickets.models.mail import OutboundKind, RawSource
from tickets.services import Sender, ticket_open
from tickets.services.requester_access import requester_reply

pytestmark = pytest.mark.django_db
GENEVA = ZoneInfo("Europe/Zurich")
WEDNESDAY = date(2026, 11, 18)
THURSDAY = date(2026, 11, 19)
SATURDAY = date(2026, 11, 21)
MONDAY = date(2026, 11, 23)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=GENEVA)


@pytest.fixture
def team():
    team = shift_team(
        {"anna": Role.SHIFTER, "pierre": Role.SHIFTER, "sofia": Role.SHIFTER, "tomas": Role.TRAINEE}
    )
    MailboxFactory(team=team)
    for zone, day, name, role in (
        (team.eu, WEDNESDAY, "anna", ShiftRole.FIRST_LEVEL),
        (team.eu, WEDNESDAY, "tomas", ShiftRole.TRAINEE),
        (team.na, WEDNESDAY, "sofia", ShiftRole.FIRST_LEVEL),
        (team.eu, THURSDAY, "pierre", ShiftRole.FIRST_LEVEL),
        (team.eu, MONDAY, "anna", ShiftRole.FIRST_LEVEL),
    ):
        Booking.objects.create(zone=zone, day=day, person=team.people[name], role=role)
    team.panda = ExpertGroup.objects.create(
        team=team, kind=GroupKind.EXPERT, name="PanDA/JEDI", email="panda-experts@cern.ch"
    )
    return team


def _deliver(team, raw: bytes, at: datetime, capture):
    with time_machine.travel(at, tick=False), capture(execute=True):
        return raw_process(raw_store(team=team, raw=raw, source=RawSource.IMAP))


def _opened_on_the_eu_shift(team, capture) -> Ticket:
    with time_machine.travel(_at(WEDNESDAY, 10), tick=False), capture(execute=True):
        ticket = ticket_open(
            team=team,
            sender=Sender("jdoe@cern.ch", "Jane Doe"),
            subject="Task 15934870 exhausted",
            body_text="All jobs of JEDI task 15934870 fail with lost heartbeat.",
        )
    ticket.refresh_from_db()
    assert ticket.assignee == team.people["anna"]
    return ticket


def _assignments(ticket: Ticket) -> list[dict]:
    events = TicketEvent.objects.filter(ticket=ticket, kind=EventKind.ASSIGNED).order_by("id")
    return [e.data for e in events]


def test_an_experts_answer_during_the_na_shift_lands_with_the_na_shifter_who_is_told(
    team, django_capture_on_commit_callbacks
):
    people = team.people
    ticket = _opened_on_the_eu_shift(team, django_capture_on_commit_callbacks)
    eleven = time_machine.travel(_at(WEDNESDAY, 11), tick=False)
    with eleven, django_capture_on_commit_callbacks(execute=True):
        esc = escalation_create(
            ticket=ticket, by=people["anna"], note="Pilot logs?", group=team.panda
        )
    raw = make_mail(
        sender=("PanDA experts", "panda-experts@cern.ch"),
        to=escalation_address(esc),
        subject=f"Re: [{ticket.reference}] Task 15934870 exhausted",
        body="The pilot was killed by the batch system; resubmit.",
    )
    _deliver(team, raw, _at(WEDNESDAY, 19), django_capture_on_commit_callbacks)

    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.zone, ticket.shadow) == (people["sofia"], "NA", None)
    told = OutboundMail.objects.filter(kind=OutboundKind.NOTIFICATION, subject__contains="answered")
    assert [m.to for m in told] == ["sofia@example.org"]
    last = _assignments(ticket)[-1]
    assert (last["to_name"], last["from_name"], last["reason"]) == ("sofia", "anna", "off shift")
    event = TicketEvent.objects.filter(ticket=ticket, kind=EventKind.ASSIGNED).last()
    assert history_lines([event])[0].what == "gave it to sofia (NA): anna is off shift"


def test_a_requesters_reply_while_the_owner_is_on_shift_leaves_the_ticket_with_them(
    team, django_capture_on_commit_callbacks
):
    ticket = _opened_on_the_eu_shift(team, django_capture_on_commit_callbacks)
    raw = make_mail(subject=f"Re: [{ticket.reference}] more logs", body="Here are more logs.")
    _deliver(team, raw, _at(WEDNESDAY, 15, 30), django_capture_on_commit_callbacks)
    ticket.refresh_from_db()
    assert ticket.assignee == team.people["anna"]
    assert len(_assignments(ticket)) == 1


def test_a_requesters_reply_on_the_page_after_the_shift_ended_goes_to_the_next_shifter(
    team, django_capture_on_commit_callbacks
):
    ticket = _opened_on_the_eu_shift(team, django_capture_on_commit_callbacks)
    Ticket.objects.filter(pk=ticket.pk).update(status=Status.WAITING_ON_USER)
    ticket.refresh_from_db()
    nine = time_machine.travel(_at(THURSDAY, 9), tick=False)
    with nine, django_capture_on_commit_callbacks(execute=True):
        requester_reply(
            requester=ticket.requester,
            ticket=ticket,
            body_text="It still fails.",
            at=_at(THURSDAY, 9),
        )
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.status) == (team.people["pierre"], Status.OPEN)
    assert _assignments(ticket)[-1]["from"] == team.people["anna"].pk


def test_the_first_answer_reminder_after_the_owners_shift_goes_to_whoever_is_on_shift(
    team, django_capture_on_commit_callbacks
):
    ticket = _opened_on_the_eu_shift(team, django_capture_on_commit_callbacks)
    # Opened at 15:00, the two covered hours run into the NA shift.
    Ticket.objects.filter(pk=ticket.pk).update(created_at=_at(WEDNESDAY, 15))
    timer = Timer.objects.get(ticket=ticket, kind=TimerKind.FIRST_RESPONSE)
    Timer.objects.filter(pk=timer.pk).update(due_at=_at(WEDNESDAY, 17))
    with time_machine.travel(_at(WEDNESDAY, 17, 1), tick=False):
        assert timer_sweep(now=_at(WEDNESDAY, 17, 1)) == 1
    ticket.refresh_from_db()
    assert ticket.assignee == team.people["sofia"]
    assert ticket.overdue_since is not None
    reminder = OutboundMail.objects.get(subject__contains="No first answer yet")
    assert reminder.to == "sofia@example.org"


def test_a_reopened_ticket_whose_owner_is_off_shift_with_nobody_on_shift_stays_assigned(team):
    ticket = TicketFactory(team=team, assignee=team.people["sofia"], zone="NA", reopen_count=1)
    route = ticket_reroute(ticket=ticket, at=_at(SATURDAY, 11))
    ticket.refresh_from_db()
    assert not route.routed
    # Not unassigned: the owner keeps it, flagged for the next shift...
    assert (ticket.assignee, ticket.after_hours) == (team.people["sofia"], True)
    # ... which takes it as it starts.
    assert route_waiting(at=_at(MONDAY, 8, 5)) == 1
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.zone, ticket.after_hours) == (team.people["anna"], "EU", False)
    assert _assignments(ticket)[-1]["from_name"] == "sofia"


def test_an_owner_back_on_shift_keeps_the_ticket_they_kept_overnight(team):
    ticket = TicketFactory(team=team, assignee=team.people["anna"], zone="EU")
    ticket_reroute(ticket=ticket, at=_at(SATURDAY, 11))
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.after_hours) == (team.people["anna"], True)
    assert route_waiting(at=_at(MONDAY, 8, 5)) == 1
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.after_hours) == (team.people["anna"], False)
    assert _assignments(ticket) == []

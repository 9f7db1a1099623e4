"""Routing by the shift calendar: zone, load balance, trainee shadow, after-hours queue."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dispatch.routing import route_waiting, ticket_route
from escalation.models import Timer, TimerKind
from people.models import Role
from shifts.models import Booking, ShiftRole, Zone
from tests.factories import MembershipFactory, TeamFactory, TicketFactory, UserFactory
from tickets import events as event_log
from tickets.models import EventDelivery, ExternalRef, OutboundMail, Status, Ticket
from tickets.models.mail import OutboundKind
from tickets.services import Sender, ticket_open

pytestmark = pytest.mark.django_db
GENEVA = ZoneInfo("Europe/Zurich")
WEDNESDAY = date(2026, 11, 18)


@pytest.fixture
def team():
    team = TeamFactory(slug="dast", ticket_prefix="DAST")
    eu = Zone.objects.create(team=team, code="EU", name="Europe", starts_at=time(8))
    na = Zone.objects.create(team=team, code="NA", name="North America", starts_at=time(16))
    people = {}
    for name, role in (
        ("anna", Role.SHIFTER),
        ("pierre", Role.SHIFTER),
        ("sofia", Role.SHIFTER),
        ("tomas", Role.TRAINEE),
    ):
        people[name] = MembershipFactory(team=team, user=UserFactory(username=name), role=role).user
    for name, zone, role in (
        ("anna", eu, ShiftRole.FIRST_LEVEL),
        ("pierre", eu, ShiftRole.FIRST_LEVEL),
        ("tomas", eu, ShiftRole.TRAINEE),
        ("sofia", na, ShiftRole.FIRST_LEVEL),
    ):
        Booking.objects.create(zone=zone, day=WEDNESDAY, person=people[name], role=role)
    Booking.objects.create(
        zone=eu, day=date(2026, 11, 23), person=people["anna"], role=ShiftRole.FIRST_LEVEL
    )
    team.people = people
    return team


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=GENEVA)


def test_a_ticket_goes_to_the_eu_shifter_with_fewest_open_tickets_and_the_trainee_shadows(team):
    people = team.people
    TicketFactory.create_batch(2, team=team, assignee=people["anna"], status=Status.OPEN)
    TicketFactory(team=team, assignee=people["pierre"], status=Status.CLOSED)
    ticket = TicketFactory(team=team)
    route = ticket_route(ticket=ticket, at=_at(WEDNESDAY, 9, 30))
    ticket.refresh_from_db()
    assert route.routed
    assert (ticket.assignee, ticket.shadow, ticket.zone) == (
        people["pierre"],
        people["tomas"],
        "EU",
    )
    assert not ticket.after_hours


def test_in_the_evening_the_na_shifter_takes_it(team):
    ticket = TicketFactory(team=team)
    ticket_route(ticket=ticket, at=_at(WEDNESDAY, 20))
    ticket.refresh_from_db()
    assert (ticket.assignee.username, ticket.shadow, ticket.zone) == ("sofia", None, "NA")


def test_a_ticket_with_an_owner_keeps_it(team):
    ticket = TicketFactory(team=team, assignee=team.people["sofia"])
    ticket_route(ticket=ticket, at=_at(WEDNESDAY, 9, 30))
    ticket.refresh_from_db()
    assert ticket.assignee == team.people["sofia"]


def test_routing_takes_seven_queries_whatever_the_calendar(team, django_assert_num_queries):
    ticket = TicketFactory(team=team)
    ticket = type(ticket).objects.select_related("team").get(pk=ticket.pk)
    # Five to find the shifter and assign, two to record the assignment in the event log
    # (the event, and its delivery to the consumers that follow it: the reports' rollups).
    with django_assert_num_queries(7):
        ticket_route(ticket=ticket, at=_at(WEDNESDAY, 9, 30))


@pytest.mark.frozen_at(_at(date(2026, 11, 21), 11))  # a Saturday
def test_a_saturday_ticket_waits_flagged_and_goes_to_mondays_shift(
    team, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = ticket_open(
            team=team,
            sender=Sender("user@cern.ch", "A User"),
            subject="Grid proxy expired",
            body_text="...",
        )
    ticket.refresh_from_db()
    assert ticket.assignee is None
    assert ticket.after_hours
    ack = OutboundMail.objects.get(ticket=ticket)
    assert "next shift starts, Monday 23 November at 08:00" in ack.body_text
    assert route_waiting(at=_at(date(2026, 11, 22), 20)) == 0  # Sunday: still nobody
    assert route_waiting(at=_at(date(2026, 11, 23), 8, 5)) == 1
    ticket.refresh_from_db()
    assert ticket.assignee == team.people["anna"]
    assert not ticket.after_hours


@pytest.mark.frozen_at(_at(WEDNESDAY, 10))
def test_the_acknowledgement_says_a_shifter_is_on_duty_when_one_is(
    team, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = ticket_open(team=team, sender=Sender("user@cern.ch"), subject="x", body_text="y")
    ack = OutboundMail.objects.get(ticket=ticket, kind=OutboundKind.ACKNOWLEDGEMENT)
    assert "on duty now" in ack.body_text
    ticket.refresh_from_db()
    assert ticket.assignee is not None


@pytest.mark.frozen_at(_at(WEDNESDAY, 10))
def test_a_batch_of_fifty_new_tickets_is_routed_and_acknowledged_in_a_bounded_number_of_queries(
    team, monkeypatch
):
    monkeypatch.setattr("tickets.events.nudge", lambda: None)  # the sweep, below
    others = set(event_log.CONSUMERS) - {"routing"}
    for name in others:
        monkeypatch.delitem(event_log.CONSUMERS, name)
    tickets = [
        ticket_open(
            team=team,
            sender=Sender(f"user{n}@cern.ch", f"User {n}"),
            subject=f"Jobs fail at site {n} with ATLASPANDA-{100 + n}",
            body_text="...",
        )
        for n in range(50)
    ]
    with CaptureQueriesContext(connection) as queries:
        assert event_log.events_consume_batch(limit=50) == 50
    # A handful for the claim and its bookkeeping, the calendar, the loads, the first
    # messages, the acknowledgements, the timers and the references; one UPDATE per
    # shifter: not a few per ticket (it was about eleven each).
    assert len(queries) <= 40, "\n".join(q["sql"][:120] for q in queries.captured_queries)
    owners = Counter(
        Ticket.objects.filter(pk__in=[t.pk for t in tickets]).values_list(
            "assignee__username", "shadow__username"
        )
    )
    assert owners == {("anna", "tomas"): 25, ("pierre", "tomas"): 25}  # balanced
    assert OutboundMail.objects.filter(ticket__in=tickets, kind="ack").count() == 50
    assert Timer.objects.filter(ticket__in=tickets, kind=TimerKind.FIRST_RESPONSE).count() == 50
    assert ExternalRef.objects.filter(ticket__in=tickets, system="jira").count() == 50
    assert not EventDelivery.objects.filter(
        ticket_pk__in=[t.pk for t in tickets], consumer="routing", state="pending"
    ).exists()

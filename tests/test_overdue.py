"""Overdue, as a shifter means it: a first answer past its target, an escalation past its
next level; and a "Due" column in the queue."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from escalation.models import ExpertGroup, GroupKind
from escalation.services import escalation_create
from escalation.timers import timer_sweep
from people.models import Role
from shifts.models import Booking, ShiftRole
from tests.factories import TicketFactory, shift_team
from tickets.events import events_consume
from tickets.models import OutboundMail, Status, Ticket
from tickets.models.mail import OutboundKind, OutboundState
from tickets.services import Sender, ticket_open, ticket_set_status
from tickets.services.replies import ticket_reply

pytestmark = pytest.mark.django_db
GENEVA = ZoneInfo("Europe/Zurich")
MONDAY_10 = datetime(2026, 11, 16, 10, 0, tzinfo=GENEVA)


def _at(days: int = 0, hours: float = 0) -> datetime:
    return MONDAY_10 + timedelta(days=days, hours=hours)


@pytest.fixture
def desk(client):
    team = shift_team({"anna": Role.SHIFTER, "elena": Role.COORDINATOR})
    anna = team.people["anna"]
    for n in range(10):
        Booking.objects.create(
            zone=team.eu, day=(_at(days=n)).date(), person=anna, role=ShiftRole.FIRST_LEVEL
        )
    team.panda = ExpertGroup.objects.create(
        team=team, kind=GroupKind.EXPERT, name="PanDA/JEDI", email="panda@cern.ch"
    )
    client.force_login(anna)
    return team


def _open(team, subject: str, at: datetime) -> Ticket:
    with time_machine.travel(at, tick=False):
        ticket = ticket_open(
            team=team,
            sender=Sender("jdoe@cern.ch", "Jane Doe"),
            subject=subject,
            body_text="My jobs fail.",
        )
        events_consume()  # what the commit would trigger: routing arms the first answer
    ticket.refresh_from_db()
    return ticket


def _overdue_page(client, at: datetime) -> str:
    with time_machine.travel(at, tick=False):
        return client.get(reverse("ticket-list"), {"view": "overdue"}).content.decode()


def test_an_unanswered_ticket_past_its_first_answer_target_is_overdue_before_any_sweep(
    client, desk
):
    ticket = _open(desk, "Jobs lost heartbeat", _at())
    assert ticket.assignee == desk.people["anna"]
    assert ticket.due_at == _at(hours=2)  # two covered hours
    assert "Jobs lost heartbeat" not in _overdue_page(client, _at(hours=1))
    page = _overdue_page(client, _at(days=19))  # beat never ran (the demo's case)
    assert "Jobs lost heartbeat" in page
    assert '<span class="n">1</span>' in page.split("Overdue", 1)[1][:40]


def test_a_first_answer_takes_the_ticket_off_the_overdue_view(client, desk):
    ticket = _open(desk, "Jobs lost heartbeat", _at())
    with time_machine.travel(_at(hours=3), tick=False):
        timer_sweep(now=_at(hours=3))  # the reminder marks it overdue
        ticket.refresh_from_db()
        assert ticket.overdue_since is not None
        ticket_reply(ticket=ticket, author=desk.people["anna"], body_text="Looking at it.")
        events_consume()
    ticket.refresh_from_db()
    assert (ticket.overdue_since, ticket.due_at) == (None, None)
    assert "Jobs lost heartbeat" not in _overdue_page(client, _at(hours=4))


def test_an_escalation_past_its_next_level_point_makes_the_ticket_overdue(client, desk):
    ticket = _open(desk, "Dataset incomplete", _at())
    with time_machine.travel(_at(hours=0.5), tick=False):
        ticket_reply(ticket=ticket, author=desk.people["anna"], body_text="Asking the experts.")
        escalation_create(ticket=ticket, by=desk.people["anna"], note="?", group=desk.panda)
        events_consume()
    ticket.refresh_from_db()
    # 200% of 8 working hours: two working days later.
    assert ticket.due_at == datetime(2026, 11, 18, 10, 30, tzinfo=GENEVA)
    assert "Dataset incomplete" not in _overdue_page(client, _at(days=1, hours=3))  # reminded
    assert "Dataset incomplete" in _overdue_page(client, _at(days=2, hours=1))
    # The next level ran: the ticket stays overdue until a shifter answers.
    OutboundMail.objects.filter(kind=OutboundKind.ESCALATION).update(
        state=OutboundState.SENT, sent_at=_at(hours=0.5)
    )
    timer_sweep(now=_at(days=1, hours=1))
    timer_sweep(now=_at(days=2, hours=1))
    ticket.refresh_from_db()
    assert ticket.overdue_since is not None
    assert "Dataset incomplete" in _overdue_page(client, _at(days=2, hours=2))


def test_waiting_on_the_user_is_never_overdue(client, desk):
    ticket = _open(desk, "Which release?", _at())
    with time_machine.travel(_at(hours=1), tick=False):
        ticket_reply(ticket=ticket, author=desk.people["anna"], body_text="Which release?")
        events_consume()
    ticket.refresh_from_db()
    assert ticket.status == Status.WAITING_ON_USER
    assert "Which release?" not in _overdue_page(client, _at(days=9))


def test_the_queue_shows_when_each_ticket_is_due_escaped_and_sorts_by_it(client, desk):
    soon = _open(desk, "Soon <b>due</b>", _at())
    _open(desk, "Later one", _at(hours=1))
    closed = _open(desk, "Closed one", _at())
    ticket_set_status(ticket=closed, status=Status.CLOSED)
    events_consume()
    with time_machine.travel(_at(hours=1, days=0), tick=False):
        page = client.get(reverse("ticket-list"), {"view": "all", "sort": "due"}).content.decode()
    assert "<th>Due</th>" in page
    assert "Soon &lt;b&gt;due&lt;/b&gt;" in page
    assert page.index("Soon &lt;b&gt;due") < page.index("Later one") < page.index("Closed one")
    row = page.split(f">{soon.reference}<", 1)[1].split("</tr>", 1)[0]
    assert '<time class="due" datetime="2026-11-16T12:00:00+00:00"' not in row  # viewer's zone
    assert ">in 1 h</time>" in row
    with time_machine.travel(_at(hours=5), tick=False):
        page = client.get(reverse("ticket-list"), {"view": "all"}).content.decode()
    row = page.split(f">{soon.reference}<", 1)[1].split("</tr>", 1)[0]
    assert '<time class="due late"' in row
    assert ">3 h late</time>" in row


def test_the_due_column_costs_no_query_per_row(client, desk):
    with time_machine.travel(_at(hours=1), tick=False):
        client.get(reverse("ticket-list"))  # warm the session
        TicketFactory(team=desk, subject="One", due_at=_at(hours=2), assignee=desk.people["anna"])
        with CaptureQueriesContext(connection) as few:
            client.get(reverse("ticket-list"), {"view": "all"})
        for n in range(30):
            TicketFactory(
                team=desk,
                subject=f"Bulk {n}",
                due_at=_at(hours=n % 3),
                overdue_since=_at() if n % 2 else None,
                assignee=desk.people["anna"],
            )
        with CaptureQueriesContext(connection) as many:
            page = client.get(reverse("ticket-list"), {"view": "all"}).content.decode()
    assert page.count('class="due-at"') == 31
    assert len(many) == len(few)

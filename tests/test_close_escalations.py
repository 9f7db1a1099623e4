"""Closing a ticket ends its open escalations out loud: the group hears in the escalation's
own thread, the ticket notes it; the requester is not mailed about internal escalations."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from escalation.addresses import escalation_address
from escalation.models import Escalation, EscalationState, ExpertGroup, Timer, TimerState
from escalation.services import escalation_create
from people.models import Role
from tests.factories import MailboxFactory, MembershipFactory, TeamFactory, UserFactory
from tickets.history import history_lines
from tickets.models import ExternalRef, MessageKind, OutboundMail, Status, Ticket, TicketEvent
from tickets.services import Sender, ticket_open, ticket_set_status

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 11, 18, 10, 0, tzinfo=ZoneInfo("Europe/Zurich"))


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def desk():
    team = TeamFactory(slug="dast", ticket_prefix="DAST", name="ATLAS DAST")
    MailboxFactory(team=team)
    anna = MembershipFactory(team=team, user=UserFactory(username="anna"), role=Role.SHIFTER).user
    panda = ExpertGroup.objects.create(team=team, name="PanDA/JEDI", email="panda@cern.ch")
    ticket = ticket_open(
        team=team,
        sender=Sender("jdoe@cern.ch", "Jane Doe"),
        subject="Task 15934870 exhausted",
        body_text="All jobs fail.",
        announce=False,
    )
    Ticket.objects.filter(pk=ticket.pk).update(assignee=anna, status=Status.OPEN)
    ticket.refresh_from_db()
    return type("Desk", (), {"team": team, "anna": anna, "panda": panda, "ticket": ticket})


def test_resolving_a_ticket_tells_the_waiting_group_in_its_thread_and_notes_it(
    desk, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        esc = escalation_create(ticket=desk.ticket, by=desk.anna, note="?", group=desk.panda)
    desk.ticket.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        ticket_set_status(ticket=desk.ticket, status=Status.RESOLVED, by=desk.anna)
    esc.refresh_from_db()
    assert esc.state == EscalationState.CANCELLED
    assert Timer.objects.get(escalation=esc).state == TimerState.CANCELLED
    told = OutboundMail.objects.get(subject__startswith="[DAST-1] No longer needed")
    assert told.to == "panda@cern.ch"
    assert (told.in_reply_to, told.references) == (esc.message_id, esc.message_id)
    assert told.reply_to == escalation_address(esc)
    assert "have resolved DAST-1" in told.body_text
    note = desk.ticket.messages.filter(kind=MessageKind.NOTE).last()
    assert note.body_text == (
        "Escalation to PanDA/JEDI cancelled: the ticket was resolved. PanDA/JEDI was told by mail."
    )
    event = TicketEvent.objects.get(ticket=desk.ticket, kind="escalation_cancelled")
    assert history_lines([event])[0].what == (
        "cancelled the escalation to PanDA/JEDI: ticket resolved"
    )
    # Internal business: the requester gets nothing about the escalation.
    assert not OutboundMail.objects.filter(to="jdoe@cern.ch", body_text__contains="PanDA").exists()


def test_an_escalation_waiting_on_another_tracker_is_noted_and_nobody_mailed(
    desk, django_capture_on_commit_callbacks
):
    ref = ExternalRef.objects.create(ticket=desk.ticket, system="jira", key="ATLASPANDA-426")
    with django_capture_on_commit_callbacks(execute=True):
        escalation_create(ticket=desk.ticket, by=desk.anna, note="JIRA", external_ref=ref)
        mails = OutboundMail.objects.count()
    desk.ticket.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        ticket_set_status(ticket=desk.ticket, status=Status.CLOSED)
    assert Escalation.objects.get().state == EscalationState.CANCELLED
    assert OutboundMail.objects.count() == mails
    assert desk.ticket.messages.filter(
        kind=MessageKind.NOTE,
        body_text__contains="ATLASPANDA-426 cancelled: the ticket was closed.",
    ).exists()

"""Listeners for what ``tickets`` announces. Connected in EscalationConfig.ready()."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from escalation.models import TimerKind
from escalation.routing import ticket_reroute, ticket_route, when_text
from escalation.services import (
    expert_reply_take,
    first_response_arm,
    refs_from_message,
    status_timers,
)
from escalation.timers import timers_cancel
from tickets.models import Message, MessageKind, Status, Ticket
from tickets.services.replies import ticket_acknowledge


def on_ticket_opened(sender: object, *, ticket: Ticket, **kwargs: Any) -> None:
    """Route a new ticket by the shift calendar, then acknowledge it if a requester opened it
    (mail or the web form), saying when a shifter will look."""
    with transaction.atomic():
        route = ticket_route(ticket=ticket)
        first = ticket.messages.order_by("created_at", "pk").first()
        if first is not None and first.kind in (MessageKind.EMAIL_IN, MessageKind.WEB):
            ticket_acknowledge(ticket=ticket, when=when_text(route))
            first_response_arm(ticket=ticket)
            refs_from_message(message=first)


def on_ticket_reopened(sender: object, *, ticket: Ticket, **kwargs: Any) -> None:
    """A reply reopened the ticket: back to its owner if on shift, else to whoever is."""
    with transaction.atomic():
        ticket_reroute(ticket=ticket)


def on_message_received(sender: object, *, message: Message, **kwargs: Any) -> None:
    """A mail joined a ticket: an expert's answer to an escalation, or the requester's reply
    (which ends the waiting-on-user reminders); references in it are stored."""
    with transaction.atomic():
        expert_reply_take(message=message)
        ticket = Ticket.objects.get(pk=message.ticket_id)
        if ticket.status != Status.WAITING_ON_USER:
            timers_cancel(ticket=ticket, kinds=[TimerKind.WAITING_USER])
        refs_from_message(message=message)


def on_message_sent(sender: object, *, message: Message, **kwargs: Any) -> None:
    """The desk answered: the first-answer target is met."""
    timers_cancel(ticket=message.ticket, kinds=[TimerKind.FIRST_RESPONSE])


def on_status_changed(sender: object, *, ticket: Ticket, old: str, new: str, **kwargs: Any) -> None:
    with transaction.atomic():
        status_timers(ticket=ticket, old=old, new=new)

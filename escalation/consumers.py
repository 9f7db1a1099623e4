"""What escalation does when something happens to a ticket: consumers of the ticket event
log (tickets.services.events) and what follows dispatch's routing of a new ticket,
registered in EscalationConfig.ready(). Each runs in the sweep's transaction, once per
event, and does nothing new when run again."""

from __future__ import annotations

from dispatch.consumers import ROUTING, event_ticket_locked, routed_register
from dispatch.routing import ticket_follow_shift
from escalation.models import Timer, TimerKind
from escalation.services import (
    expert_reply_take,
    first_response_arm,
    refs_from_message,
    status_timers,
)
from escalation.timers import timers_cancel
from tickets.models import Message, Status, Ticket
from tickets.models.events import EventKind, TicketEvent
from tickets.services.events import consumer_register


def on_routed(ticket: Ticket, first: Message) -> None:
    """A ticket a requester opened was routed: the clock of its first answer starts, and
    the references in its first mail are stored."""
    if not Timer.objects.filter(ticket=ticket, kind=TimerKind.FIRST_RESPONSE).exists():
        first_response_arm(ticket=ticket)
    refs_from_message(message=first)


def on_message_received(event: TicketEvent) -> None:
    """A mail joined a ticket: an expert's answer to an escalation, or the requester's reply
    (which ends the waiting-on-user reminders); references in it are stored. Either needs a
    shifter: an owner who is off shift now passes the ticket to whoever is on shift, before
    anyone is told."""
    message = Message.objects.select_related("ticket__team").filter(pk=event.data["message"])
    found = message.first()
    if found is None or found.ticket_id != event.ticket_id:
        return  # merged away since: the merge's own events speak for it
    found.ticket = event_ticket_locked(event)
    ticket_follow_shift(ticket=found.ticket)
    expert_reply_take(message=found, at=event.at)
    if found.ticket.status != Status.WAITING_ON_USER:
        timers_cancel(ticket=found.ticket, kinds=[TimerKind.WAITING_USER], at=event.at)
    refs_from_message(message=found)


def on_reply_sent(event: TicketEvent) -> None:
    """The desk answered: the first-answer target is met."""
    timers_cancel(ticket=event.ticket, kinds=[TimerKind.FIRST_RESPONSE], at=event.at)


def on_status_changed(event: TicketEvent) -> None:
    status_timers(ticket=event.ticket, old=event.data["old"], new=event.data["new"], at=event.at)


def register() -> None:
    routed_register("first-answer-clock", on_routed)
    # An expert's answer is told to the owner of this shift: routing first.
    consumer_register(
        "expert-replies", [EventKind.MESSAGE_RECEIVED], on_message_received, after=[ROUTING]
    )
    consumer_register("first-answer", [EventKind.REPLY_SENT], on_reply_sent, after=[ROUTING])
    consumer_register(
        "status-timers", [EventKind.STATUS_CHANGED], on_status_changed, after=[ROUTING]
    )

"""What escalation does when something happens to a ticket: consumers of the ticket event
log (tickets.services.events), registered in EscalationConfig.ready(). Each runs in the
sweep's transaction, once per event, and does nothing new when run again."""

from __future__ import annotations

from escalation.models import Timer, TimerKind
from escalation.routing import ticket_follow_shift, ticket_reroute, ticket_route, when_text
from escalation.services import (
    expert_reply_take,
    first_response_arm,
    refs_from_message,
    status_timers,
)
from escalation.timers import timers_cancel
from tickets.models import Message, MessageKind, OutboundMail, Status, Ticket
from tickets.models.events import EventKind, TicketEvent
from tickets.models.mail import OutboundKind
from tickets.services.events import consumer_register
from tickets.services.replies import ticket_acknowledge

ROUTING = "routing"


def _ticket(event: TicketEvent) -> Ticket:
    # Locked: a shifter taking the ticket by hand meanwhile waits for the routing, or wins.
    return (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("team", "requester", "assignee")
        .get(pk=event.ticket_id)
    )


def on_routing_event(event: TicketEvent) -> None:
    """A new ticket goes to whoever is on shift and its requester hears when a shifter will
    look; a reopened one goes back to its owner if on shift, else to whoever is."""
    ticket = _ticket(event)
    if event.kind == EventKind.REOPENED:
        ticket_reroute(ticket=ticket)
        return
    route = ticket_route(ticket=ticket)
    first = ticket.messages.order_by("created_at", "pk").first()
    if first is None or first.kind not in (MessageKind.EMAIL_IN, MessageKind.WEB):
        return
    acknowledged = OutboundMail.objects.filter(
        ticket=ticket, kind=OutboundKind.ACKNOWLEDGEMENT
    ).exists()
    if not acknowledged:
        ticket_acknowledge(ticket=ticket, when=when_text(route))
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
    found.ticket = _ticket(event)
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
    consumer_register(ROUTING, [EventKind.OPENED, EventKind.REOPENED], on_routing_event)
    # An expert's answer is told to the owner of this shift: routing first.
    consumer_register(
        "expert-replies", [EventKind.MESSAGE_RECEIVED], on_message_received, after=[ROUTING]
    )
    consumer_register("first-answer", [EventKind.REPLY_SENT], on_reply_sent, after=[ROUTING])
    consumer_register(
        "status-timers", [EventKind.STATUS_CHANGED], on_status_changed, after=[ROUTING]
    )

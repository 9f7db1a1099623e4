"""Dispatch's consumer of the ticket event log (tickets.services.events), registered in
DispatchConfig.ready(): a new ticket goes to whoever is on shift and its requester hears
when a shifter will look; a reopened one goes back to its owner if on shift, else to
whoever is. It runs in the sweep's transaction, once per event, and does nothing new when
run again."""

from __future__ import annotations

from collections.abc import Callable

from dispatch.routing import ticket_reroute, ticket_route, when_text
from tickets.models import OPEN_STATUSES, Message, MessageKind, OutboundMail, Ticket
from tickets.models.events import EventKind, TicketEvent
from tickets.models.mail import OutboundKind
from tickets.services.events import consumer_register
from tickets.services.replies import ticket_acknowledge

ROUTING = "routing"

# What else follows, in the same delivery, once a ticket a requester opened is routed and
# acknowledged (escalation arms the first-answer timer): registered by the apps above
# dispatch at start-up, run in the order registered.
Routed = Callable[[Ticket, Message], None]
_routed: dict[str, Routed] = {}


def routed_register(name: str, then: Routed) -> None:
    _routed[name] = then


def event_ticket_locked(event: TicketEvent) -> Ticket:
    """The event's ticket, locked: a shifter taking the ticket by hand meanwhile waits for
    the routing, or wins."""
    return (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("team", "requester", "assignee")
        .get(pk=event.ticket_id)
    )


def on_routing_event(event: TicketEvent) -> None:
    ticket = event_ticket_locked(event)
    if event.kind == EventKind.REOPENED:
        ticket_reroute(ticket=ticket)
        return
    if event.kind == EventKind.IMPORTED_OPEN:
        # Imported history still open: a shifter should see it; its requester wrote long
        # ago and hears nothing from the import.
        if ticket.status in OPEN_STATUSES:
            ticket_route(ticket=ticket)
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
    for then in _routed.values():
        then(ticket, first)


def register() -> None:
    consumer_register(
        ROUTING,
        [EventKind.OPENED, EventKind.REOPENED, EventKind.IMPORTED_OPEN],
        on_routing_event,
    )

"""Dispatch's consumer of the ticket event log (tickets.events), registered in
DispatchConfig.ready(): a new ticket goes to whoever is on shift and its requester hears
when a shifter will look; a reopened one goes back to its owner if on shift, else to
whoever is. It runs in the sweep's transaction, a batch of events at a time (at most one
per ticket), and does nothing new when run again."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.db.models import OuterRef, Subquery

from dispatch.acknowledgement import tickets_acknowledge
from dispatch.routing import Route, ticket_reroute, tickets_route, when_text
from tickets.events import consumer_register
from tickets.models import OPEN_STATUSES, Message, MessageKind, OutboundMail, Ticket
from tickets.models.events import EventKind, TicketEvent
from tickets.models.mail import OutboundKind

ROUTING = "routing"

# What else follows, in the same delivery, once tickets a requester opened are routed and
# acknowledged (escalation arms the first-answer timer): registered by the apps above
# dispatch at start-up, run in the order registered, with the batch's (ticket, its first
# message) pairs.
Routed = Callable[[list[tuple[Ticket, Message]]], None]
_routed: dict[str, Routed] = {}


def routed_register(name: str, then: Routed) -> None:
    _routed[name] = then


def tickets_locked(ids: Iterable[int]) -> dict[int, Ticket]:
    """The events' tickets, locked (in pk order, so two sweeps never deadlock): a shifter
    taking a ticket by hand meanwhile waits for the routing, or wins. One query."""
    rows = (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("team", "requester", "assignee")
        .filter(pk__in=set(ids))
        .order_by("pk")
    )
    return {ticket.pk: ticket for ticket in rows}


def event_ticket_locked(event: TicketEvent) -> Ticket:
    """The event's ticket, locked."""
    return tickets_locked([event.ticket_id])[event.ticket_id]


def first_messages(tickets: list[Ticket]) -> dict[int, Message]:
    """Each ticket's first message, by ticket pk. One query."""
    first = Message.objects.filter(ticket=OuterRef("pk")).order_by("created_at", "pk")
    ids = Ticket.objects.filter(pk__in=[t.pk for t in tickets]).values(
        first=Subquery(first.values("pk")[:1])
    )
    by_pk = {t.pk: t for t in tickets}
    found = {m.ticket_id: m for m in Message.objects.filter(pk__in=ids)}
    for message in found.values():
        message.ticket = by_pk[message.ticket_id]
    return found


def on_routing_event(event: TicketEvent) -> None:
    on_routing_events([event])


def on_routing_events(events: list[TicketEvent]) -> None:
    """Route and acknowledge a batch of opened or reopened tickets: a few queries for the
    batch (the calendar, the loads, the first messages, the acknowledgements sent), one
    UPDATE per shifter, one INSERT for the acknowledgements."""
    tickets = tickets_locked(e.ticket_id for e in events)
    opened: list[Ticket] = []
    imported: list[Ticket] = []
    for event in events:
        ticket = tickets.get(event.ticket_id)
        if ticket is None:
            continue
        if event.kind == EventKind.REOPENED:
            ticket_reroute(ticket=ticket)
        elif event.kind == EventKind.IMPORTED_OPEN:
            # Imported history still open: a shifter should see it; its requester wrote
            # long ago and hears nothing from the import.
            if ticket.status in OPEN_STATUSES:
                imported.append(ticket)
        else:
            opened.append(ticket)
    if not (opened or imported):
        return
    # One routing pass for both (the calendar and the loads read once); only new tickets'
    # requesters hear from the desk.
    new = {t.pk for t in opened}
    routes = [r for r in tickets_route(tickets=opened + imported) if r.ticket.pk in new]
    if not opened:
        return
    firsts = first_messages(opened)
    requested = [
        (route, firsts[route.ticket.pk])
        for route in routes
        if route.ticket.pk in firsts
        and firsts[route.ticket.pk].kind in (MessageKind.EMAIL_IN, MessageKind.WEB)
    ]
    if not requested:
        return
    acknowledged = set(
        OutboundMail.objects.filter(
            ticket__in=[r.ticket for r, _ in requested], kind=OutboundKind.ACKNOWLEDGEMENT
        ).values_list("ticket_id", flat=True)
    )
    whens: dict[tuple[int, bool], str] = {}

    def when(route: Route) -> str:
        key = (route.ticket.team_id, route.routed)
        if key not in whens:
            whens[key] = when_text(route)
        return whens[key]

    tickets_acknowledge(
        [(r.ticket, when(r)) for r, _ in requested if r.ticket.pk not in acknowledged]
    )
    pairs = [(r.ticket, first) for r, first in requested]
    for then in _routed.values():
        then(pairs)


def register() -> None:
    consumer_register(
        ROUTING,
        [EventKind.OPENED, EventKind.REOPENED, EventKind.IMPORTED_OPEN],
        on_routing_event,
        handle_many=on_routing_events,
    )

"""The grid app's consumer of the ticket event log: remember which queues and sites each
ticket names, so that the queue can filter on "site in downtime" in one query."""

from __future__ import annotations

from grid.services import ticket_mentions_index, tickets_mentions_index
from tickets.events import consumer_register
from tickets.models import Ticket
from tickets.models.events import EventKind, TicketEvent


def on_ticket_text(event: TicketEvent) -> None:
    ticket = Ticket.objects.filter(pk=event.ticket_id).first()
    if ticket is not None:
        ticket_mentions_index(ticket=ticket)


def on_tickets_text(events: list[TicketEvent]) -> None:
    tickets = Ticket.objects.filter(pk__in={e.ticket_id for e in events}).order_by("pk")
    tickets_mentions_index(tickets=list(tickets))


def register() -> None:
    consumer_register(
        "grid-mentions",
        [EventKind.OPENED, EventKind.MESSAGE_RECEIVED, EventKind.REOPENED],
        on_ticket_text,
        handle_many=on_tickets_text,
    )

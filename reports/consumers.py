"""The reports' consumer of the ticket event log: after any event that moves a figure, the
ticket's rollups are computed again from its whole history (so running it twice on one
event changes nothing the second time). Registered in ReportsConfig.ready()."""

from __future__ import annotations

from reports.services import CONSUMER, ticket_figures_refresh, tickets_figures_refresh
from tickets.events import consumer_register
from tickets.models.events import EventKind, TicketEvent

KINDS = [
    EventKind.OPENED,
    EventKind.MESSAGE_RECEIVED,
    EventKind.REPLY_SENT,
    EventKind.STATUS_CHANGED,
    EventKind.CATEGORY_CHANGED,
    EventKind.ASSIGNED,
    EventKind.HANDED_OVER,
    EventKind.MERGED,
    EventKind.REOPENED,
    EventKind.ESCALATED,
    EventKind.ESCALATION_ANSWERED,
    EventKind.ESCALATION_CANCELLED,
    EventKind.TIMER_FIRED,
]


def on_event(event: TicketEvent) -> None:
    ticket_figures_refresh(ticket=event.ticket)


def on_events(events: list[TicketEvent]) -> None:
    tickets = {e.ticket_id: e.ticket for e in events}
    tickets_figures_refresh(tickets=list(tickets.values()))


def register() -> None:
    # history=True: an archive import's events reach the rollups too (nobody else's).
    consumer_register(CONSUMER, KINDS, on_event, history=True, handle_many=on_events)

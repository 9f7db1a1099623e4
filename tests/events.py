"""Reading the ticket event log in tests."""

from __future__ import annotations

from tickets.models import Ticket
from tickets.models.events import DeliveryState, EventDelivery, TicketEvent


def kinds(ticket: Ticket, *only: str) -> list[str]:
    """The kinds of the ticket's events, oldest first (only those named, if any)."""
    events = TicketEvent.objects.filter(ticket=ticket).order_by("id")
    if only:
        events = events.filter(kind__in=only)
    return list(events.values_list("kind", flat=True))


def pending(ticket: Ticket) -> list[tuple[str, str]]:
    """(event kind, consumer) of the ticket's deliveries not yet done, oldest first."""
    return list(
        EventDelivery.objects.filter(event__ticket=ticket, state=DeliveryState.PENDING)
        .order_by("event_id", "consumer")
        .values_list("event__kind", "consumer")
    )

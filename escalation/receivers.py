"""Listeners for what ``tickets`` announces. Connected in EscalationConfig.ready()."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from escalation.routing import ticket_reroute, ticket_route, when_text
from tickets.models import MessageKind, Ticket
from tickets.services.replies import ticket_acknowledge


def on_ticket_opened(sender: object, *, ticket: Ticket, **kwargs: Any) -> None:
    """Route a new ticket by the shift calendar, then acknowledge it if a requester opened it
    (mail or the web form), saying when a shifter will look."""
    with transaction.atomic():
        route = ticket_route(ticket=ticket)
        first = ticket.messages.order_by("created_at", "pk").first()
        if first is not None and first.kind in (MessageKind.EMAIL_IN, MessageKind.WEB):
            ticket_acknowledge(ticket=ticket, when=when_text(route))


def on_ticket_reopened(sender: object, *, ticket: Ticket, **kwargs: Any) -> None:
    """A reply reopened the ticket: back to its owner if on shift, else to whoever is."""
    with transaction.atomic():
        ticket_reroute(ticket=ticket)

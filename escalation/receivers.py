"""Listeners for what ``tickets`` announces. Connected in EscalationConfig.ready()."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from tickets.models import MessageKind, Ticket
from tickets.services.replies import ticket_acknowledge

# Until shift-aware routing lands, the acknowledgement cannot name a shift start.
WHEN_UNKNOWN = "A shifter of the support team will look at it as soon as possible."


def on_ticket_opened(sender: object, *, ticket: Ticket, **kwargs: Any) -> None:
    """Acknowledge a ticket opened by a requester (mail or the web form)."""
    first = ticket.messages.order_by("created_at", "pk").first()
    if first is None or first.kind not in (MessageKind.EMAIL_IN, MessageKind.WEB):
        return
    with transaction.atomic():
        ticket_acknowledge(ticket=ticket, when=WHEN_UNKNOWN)

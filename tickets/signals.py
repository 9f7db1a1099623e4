"""What ``tickets`` announces. Sent after commit; the listeners live in the apps that care."""

from __future__ import annotations

import logging
from typing import Any

from django.dispatch import Signal

log = logging.getLogger(__name__)

# sender=Ticket, ticket=<Ticket>
ticket_opened = Signal()
# sender=Message, message=<Message>
message_received = Signal()
# sender=Ticket, ticket=<Ticket>: a closed or resolved ticket was opened again by a reply
ticket_reopened = Signal()
# sender=Message, message=<Message>: the desk answered the requester (a reply went out)
message_sent = Signal()
# sender=Ticket, ticket=<Ticket>, old=<Status>, new=<Status>: set by a person or the desk
ticket_status_changed = Signal()


def announce(signal: Signal, sender: type, **kwargs: Any) -> None:
    """Tell every listener; one that fails is logged and does not stop the others."""
    for receiver, result in signal.send_robust(sender=sender, **kwargs):
        if isinstance(result, Exception):
            log.error("listener %r failed", receiver, exc_info=result)

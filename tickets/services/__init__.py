"""Writes. Every user-visible change goes through a function in this package."""

from tickets.services.tickets import (
    Sender,
    requester_get_or_create,
    ticket_add_message,
    ticket_assign,
    ticket_mark_after_hours,
    ticket_open,
    ticket_set_status,
    tickets_reassign,
)

__all__ = [
    "Sender",
    "requester_get_or_create",
    "ticket_add_message",
    "ticket_assign",
    "ticket_mark_after_hours",
    "ticket_open",
    "ticket_set_status",
    "tickets_reassign",
]

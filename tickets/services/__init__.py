"""Writes. Every user-visible change goes through a function in this package."""

from tickets.services.tickets import (
    Sender,
    external_refs_add,
    message_mark_expert,
    requester_get_or_create,
    ticket_add_message,
    ticket_assign,
    ticket_flag_reply,
    ticket_mark_after_hours,
    ticket_mark_overdue,
    ticket_open,
    ticket_seen,
    ticket_set_due,
    ticket_set_status,
    tickets_mark_after_hours,
    tickets_reassign,
    tickets_set_due,
)

__all__ = [
    "Sender",
    "external_refs_add",
    "message_mark_expert",
    "requester_get_or_create",
    "ticket_add_message",
    "ticket_assign",
    "ticket_flag_reply",
    "ticket_mark_after_hours",
    "ticket_mark_overdue",
    "ticket_open",
    "ticket_seen",
    "ticket_set_due",
    "ticket_set_status",
    "tickets_mark_after_hours",
    "tickets_reassign",
    "tickets_set_due",
]

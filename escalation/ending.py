"""How an escalation that still waits ends without its answer (the ticket was resolved, or
the group it stood in for answered after all): one way, so that each end is told alike."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from escalation.addresses import escalation_address
from escalation.models import Escalation, EscalationState
from tickets.events import event_record
from tickets.mail.outbox import mail_send
from tickets.models import EventKind, MessageKind, Ticket
from tickets.models.mail import OutboundKind
from tickets.services import Sender, ticket_add_message


def escalation_end(
    esc: Escalation,
    ticket: Ticket,
    *,
    at: datetime,
    reason: str,
    template: str,
    context: Mapping[str, object],
    note: str,
) -> None:
    """``esc`` stops waiting (cancelled at ``at``). Its group or people are told in the
    escalation's own thread, worded by the mail template ``template`` (a reply still
    reaches the ticket; the ticket's reference, subject and the day they were asked are in
    the context already); the event log records ``reason``; the ticket gets the note
    ``note``, saying who was told. In the caller's transaction: the mail leaves after
    commit. Timers and bridges are the caller's to stop."""
    esc.state, esc.cancelled_at = EscalationState.CANCELLED, at
    esc.save(update_fields=["state", "cancelled_at"])
    told = ""
    if esc.recipients:
        mail_send(
            template,
            team=ticket.team,
            ticket=ticket,
            kind=OutboundKind.ESCALATION,
            to=esc.recipients,
            context={
                "reference": ticket.reference,
                "subject": ticket.subject,
                "asked_on": f"{esc.created_at:%A %d %B}",
                **context,
            },
            in_reply_to=esc.message_id,
            references=esc.message_id,
            reply_to=escalation_address(esc),
            automatic=True,
        )
        told = f" {esc.target_name} was told by mail."
    event_record(
        ticket=ticket,
        kind=EventKind.ESCALATION_CANCELLED,
        data=esc.event_data() | {"reason": reason},
        at=at,
    )
    ticket_add_message(
        ticket=ticket,
        kind=MessageKind.NOTE,
        body_text=f"{note}{told}",
        sender=Sender("", "DAST Desk"),
        created_at=at,
        announce=False,
    )

"""What escalation does when something happens to a ticket: consumers of the ticket event
log (tickets.events) and what follows dispatch's routing of new tickets,
registered in EscalationConfig.ready(). Each runs in the sweep's transaction, a batch of
events at a time where it can, and does nothing new when run again."""

from __future__ import annotations

from django.utils import timezone

from dispatch.consumers import ROUTING, routed_register, tickets_locked
from dispatch.routing import ticket_follow_shift
from escalation.models import Escalation, Timer, TimerKind, TimerState
from escalation.services import (
    expert_reply_take,
    first_response_arm_many,
    refs_from_messages,
    status_timers,
)
from escalation.timers import due_refresh_deferred, timers_cancel
from tickets.events import consumer_register
from tickets.models import Message, Status, Ticket
from tickets.models.events import EventKind, TicketEvent


def on_routed(pairs: list[tuple[Ticket, Message]]) -> None:
    """Tickets a requester opened were routed: the clock of each one's first answer starts,
    and the references in its first mail are stored."""
    armed = set(
        Timer.objects.filter(
            ticket__in=[t for t, _ in pairs], kind=TimerKind.FIRST_RESPONSE
        ).values_list("ticket_id", flat=True)
    )
    with due_refresh_deferred():
        first_response_arm_many(tickets=[t for t, _ in pairs if t.pk not in armed])
    refs_from_messages(messages=[m for _, m in pairs])


def on_message_received(event: TicketEvent) -> None:
    on_messages_received([event])


def on_messages_received(events: list[TicketEvent]) -> None:
    """Mail joined tickets: an expert's answer to an escalation, or the requester's reply
    (which ends the waiting-on-user reminders); references in it are stored. Either needs a
    shifter: an owner who is off shift now passes the ticket to whoever is on shift, before
    anyone is told. A few queries for the batch; escalations and reminders only where the
    ticket has any."""
    wanted = {e.ticket_id: e.data["message"] for e in events}
    messages = Message.objects.filter(pk__in=wanted.values()).order_by("pk")
    # Merged away since (the message is on another ticket now): the merge's events speak.
    found = [m for m in messages if wanted.get(m.ticket_id) == m.pk]
    tickets = tickets_locked(m.ticket_id for m in found)
    escalated = set(
        Escalation.objects.filter(ticket_id__in=tickets).values_list("ticket_id", flat=True)
    )
    reminded = set(
        Timer.objects.filter(
            ticket_id__in=tickets, kind=TimerKind.WAITING_USER, state=TimerState.ARMED
        ).values_list("ticket_id", flat=True)
    )
    at = {e.ticket_id: e.at for e in events}
    now = timezone.now()  # one instant for the batch: the calendar is read once
    with due_refresh_deferred():
        for message in found:
            message.ticket = ticket = tickets[message.ticket_id]
            ticket_follow_shift(ticket=ticket, at=now)
            token = f"+{ticket.reply_token}.".lower()
            if ticket.pk in escalated or token in message.recipients.lower():
                expert_reply_take(message=message, at=at[ticket.pk])
            if ticket.pk in reminded and ticket.status != Status.WAITING_ON_USER:
                timers_cancel(ticket=ticket, kinds=[TimerKind.WAITING_USER], at=at[ticket.pk])
    refs_from_messages(messages=[m for m in found if m.ticket_id in tickets])


def on_reply_sent(event: TicketEvent) -> None:
    """The desk answered: the first-answer target is met."""
    timers_cancel(ticket=event.ticket, kinds=[TimerKind.FIRST_RESPONSE], at=event.at)


def on_status_changed(event: TicketEvent) -> None:
    status_timers(ticket=event.ticket, old=event.data["old"], new=event.data["new"], at=event.at)


def register() -> None:
    routed_register("first-answer-clock", on_routed)
    # An expert's answer is told to the owner of this shift: routing first.
    consumer_register(
        "expert-replies",
        [EventKind.MESSAGE_RECEIVED],
        on_message_received,
        after=[ROUTING],
        handle_many=on_messages_received,
    )
    consumer_register("first-answer", [EventKind.REPLY_SENT], on_reply_sent, after=[ROUTING])
    consumer_register(
        "status-timers", [EventKind.STATUS_CHANGED], on_status_changed, after=[ROUTING]
    )

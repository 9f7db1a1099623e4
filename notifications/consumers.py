"""The ``notifications`` consumer of the ticket event log (tickets.services.events),
registered in NotificationsConfig.ready(): a new ticket, a requester's reply, an expert's
answer and a ticket turning overdue are told to whoever works the ticket now
(``recipients``), by the bell and by mail as each prefers, and new and overdue tickets to
the team's chat webhooks. It runs after routing and after the expert answers are taken, so
it tells the owner of this shift; once per event, and nothing new when run again."""

from __future__ import annotations

from django.utils import timezone

from common.links import site_url
from dispatch.consumers import ROUTING
from notifications.models import Kind, Notification, WebhookPost
from notifications.recipients import people_to_tell
from notifications.services import people_notify
from notifications.webhooks import webhooks_queue
from people.names import display_name
from tickets.models import Message, MessageKind, Noise, Ticket
from tickets.models.events import ActorKind, EventKind, TicketEvent
from tickets.services.events import consumer_register

NAME = "notifications"
# escalation's consumer that takes an expert's answer and lets the ticket follow the shift.
EXPERT_REPLIES = "expert-replies"


def _who(message: Message) -> str:
    return message.sender_name or message.sender_email or "someone"


def _what(event: TicketEvent, ticket: Ticket) -> tuple[Kind, str] | None:
    """The kind of news and its one line, or None when this event is none."""
    about = f"{ticket.reference} “{ticket.subject}”"
    if event.kind == EventKind.OPENED:
        requester = display_name(ticket.requester)
        return Kind.NEW_TICKET, f"New ticket {about} from {requester}"
    if event.kind == EventKind.MESSAGE_RECEIVED:
        message = Message.objects.filter(pk=event.data.get("message")).first()
        if message is None or message.ticket_id != ticket.pk or message.noise != Noise.NONE:
            return None  # merged away since, or an auto-reply
        if message.kind == MessageKind.EXPERT:
            unverified = " (unverified sender)" if message.unverified else ""
            return Kind.EXPERT_REPLY, f"{_who(message)} answered on {about}{unverified}"
        if message.kind in (MessageKind.EMAIL_IN, MessageKind.WEB):
            return Kind.REQUESTER_REPLY, f"{_who(message)} replied on {about}"
        return None
    if event.kind == EventKind.TIMER_FIRED and ticket.overdue_since is not None:
        told = Notification.objects.filter(
            ticket=ticket, kind=Kind.OVERDUE, at__gte=ticket.overdue_since
        ).exclude(event=event)
        posted = WebhookPost.objects.filter(
            ticket=ticket, kind=Kind.OVERDUE, created_at__gte=ticket.overdue_since
        ).exclude(event=event)
        if told.exists() or posted.exists():
            return None  # one notice per time a ticket turns overdue
        return Kind.OVERDUE, f"{about} is overdue"
    return None


def on_event(event: TicketEvent) -> None:
    ticket = Ticket.objects.select_related("team", "requester", "assignee").get(pk=event.ticket_id)
    if not ticket.is_open or ticket.merged_into_id is not None:
        return
    news = _what(event, ticket)
    if news is None:
        return
    kind, text = news
    actor = event.actor_id if event.actor_kind == ActorKind.PERSON else None
    people = people_to_tell(ticket, timezone.now(), actor_id=actor)
    people_notify(people=people, event=event, ticket=ticket, kind=kind, text=text)
    if kind in (Kind.NEW_TICKET, Kind.OVERDUE):
        webhooks_queue(ticket=ticket, event=event, kind=kind, text=text, url=site_url(ticket))


def register() -> None:
    consumer_register(
        NAME,
        [EventKind.OPENED, EventKind.MESSAGE_RECEIVED, EventKind.TIMER_FIRED],
        on_event,
        after=[ROUTING, EXPERT_REPLIES],
    )

"""The ``notifications`` consumer of the ticket event log (tickets.events),
registered in NotificationsConfig.ready(): a new ticket, a requester's reply, an expert's
answer and a ticket turning overdue are told to whoever works the ticket now
(``recipients``), by the bell and by mail as each prefers, and new and overdue tickets to
the team's chat webhooks. It runs after routing and after the expert answers are taken, so
it tells the owner of this shift; once per event, a batch of events at a time, and nothing
new when run again."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from dispatch.consumers import ROUTING
from notifications.models import Kind, Notification, WebhookPost
from notifications.recipients import people_to_tell
from notifications.services import News, people_notify
from notifications.webhooks import webhooks_queue
from people.names import display_name
from shifts.selectors import OnDuty, on_duty
from tickets.events import consumer_register
from tickets.models import Message, MessageKind, Noise, Ticket
from tickets.models.events import ActorKind, EventKind, TicketEvent

NAME = "notifications"
# escalation's consumer that takes an expert's answer and lets the ticket follow the shift.
EXPERT_REPLIES = "expert-replies"


def _who(message: Message) -> str:
    return message.sender_name or message.sender_email or "someone"


# Per ticket, the overdue notices already given: (event pk, when), from the bell and the
# webhooks.
Told = dict[int, list[tuple[int, datetime]]]


def _overdue_told(tickets: list[Ticket]) -> Told:
    """The overdue notices of the tickets that are overdue. Two queries, none without any."""
    told: Told = {}
    if not tickets:
        return told
    rows = [
        *Notification.objects.filter(ticket__in=tickets, kind=Kind.OVERDUE).values_list(
            "ticket_id", "event_id", "at"
        ),
        *WebhookPost.objects.filter(ticket__in=tickets, kind=Kind.OVERDUE).values_list(
            "ticket_id", "event_id", "created_at"
        ),
    ]
    for ticket_id, event_id, at in rows:
        told.setdefault(ticket_id, []).append((event_id, at))
    return told


def _what(
    event: TicketEvent, ticket: Ticket, messages: dict[int, Message], told: Told
) -> tuple[Kind, str] | None:
    """The kind of news and its one line, or None when this event is none."""
    about = f"{ticket.reference} “{ticket.subject}”"
    if event.kind == EventKind.OPENED:
        requester = display_name(ticket.requester)
        return Kind.NEW_TICKET, f"New ticket {about} from {requester}"
    if event.kind == EventKind.MESSAGE_RECEIVED:
        message = messages.get(event.data.get("message"))
        if message is None or message.ticket_id != ticket.pk or message.noise != Noise.NONE:
            return None  # merged away since, or an auto-reply
        if message.kind == MessageKind.EXPERT:
            unverified = " (unverified sender)" if message.unverified else ""
            return Kind.EXPERT_REPLY, f"{_who(message)} answered on {about}{unverified}"
        if message.kind in (MessageKind.EMAIL_IN, MessageKind.WEB):
            return Kind.REQUESTER_REPLY, f"{_who(message)} replied on {about}"
        return None
    if event.kind == EventKind.TIMER_FIRED and ticket.overdue_since is not None:
        since = ticket.overdue_since
        if any(e != event.pk and at >= since for e, at in told.get(ticket.pk, ())):
            return None  # one notice per time a ticket turns overdue
        return Kind.OVERDUE, f"{about} is overdue"
    return None


def on_event(event: TicketEvent) -> None:
    on_events([event])


def on_events(events: list[TicketEvent]) -> None:
    """Tell of a batch of events (at most one per ticket): a few queries for the batch (the
    tickets, the messages, who is on shift at one instant per team, what was told already,
    the preferences, the webhooks) and one INSERT each for the bell, the mails and the
    webhook posts."""
    found = Ticket.objects.select_related("team", "requester", "assignee").in_bulk(
        {e.ticket_id for e in events}
    )
    pairs = []
    for event in events:
        ticket = found[event.ticket_id]  # gone: the batch fails, and the event alone with it
        if ticket.is_open and ticket.merged_into_id is None:
            pairs.append((event, ticket))
    wanted = [e.data.get("message") for e, _ in pairs if e.kind == EventKind.MESSAGE_RECEIVED]
    messages = Message.objects.in_bulk([pk for pk in wanted if pk is not None])
    told = _overdue_told(
        [t for e, t in pairs if e.kind == EventKind.TIMER_FIRED and t.overdue_since is not None]
    )
    now = timezone.now()  # one instant for the batch: each team's shift is read once
    duties: dict[int, OnDuty] = {}
    news = []
    for event, ticket in pairs:
        what = _what(event, ticket, messages, told)
        if what is None:
            continue
        if ticket.team_id not in duties:
            duties[ticket.team_id] = on_duty(ticket.team, now)
        actor = event.actor_id if event.actor_kind == ActorKind.PERSON else None
        people = people_to_tell(ticket, duties[ticket.team_id], actor_id=actor)
        news.append(News(event, ticket, *what, people))
    people_notify(news)
    webhooks_queue([n for n in news if n.kind in (Kind.NEW_TICKET, Kind.OVERDUE)])


def register() -> None:
    consumer_register(
        NAME,
        [EventKind.OPENED, EventKind.MESSAGE_RECEIVED, EventKind.TIMER_FIRED],
        on_event,
        after=[ROUTING, EXPERT_REPLIES],
        handle_many=on_events,
    )

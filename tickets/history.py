"""A ticket's history in words: one line per event of the log, for the ticket page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from people.names import display_name
from tickets.models import ActorKind, Category, EventKind, Priority, Status, TicketEvent

CHANNELS = {
    "email": "opened it by mail",
    "email_in": "opened it by mail",
    "web": "opened it on the web",
}


@dataclass(frozen=True)
class HistoryLine:
    at: datetime
    who: str
    what: str
    kind: str


Choices = type[Status] | type[Category] | type[Priority]


def _label(choices: Choices, value: object) -> str:
    return str(dict(choices.choices).get(value, value))


def _who(event: TicketEvent) -> str:
    if event.actor_kind == ActorKind.DESK:
        return "The desk"
    if event.actor is not None:
        return display_name(event.actor)
    return event.actor_label or ActorKind(event.actor_kind).label


def _changed(
    event: TicketEvent, what: str, choices: type[Status] | type[Category] | type[Priority]
) -> str:
    old, new = event.data.get("old"), event.data.get("new")
    return f"changed the {what} from {_label(choices, old)} to {_label(choices, new)}"


def _assigned(event: TicketEvent) -> str:
    to = event.data.get("to_name") or "nobody"
    zone = f" ({event.data['zone']})" if event.data.get("zone") else ""
    verb = "handed it over to" if event.kind == EventKind.HANDED_OVER else "gave it to"
    if not event.data.get("to"):
        return "left it unassigned for the next shift"
    # The owner it was taken from is kept in the history (a shift ending, an answer that
    # came while they were away).
    before = event.data.get("from_name")
    if before and event.data.get("reason") == "off shift":
        return f"{verb} {to}{zone}: {before} is off shift"
    if before:
        return f"{verb} {to}{zone}, from {before}"
    return f"{verb} {to}{zone}"


def _what(event: TicketEvent) -> str:
    data = event.data
    kind = event.kind
    if kind == EventKind.STATUS_CHANGED:
        return _changed(event, "status", Status)
    if kind == EventKind.CATEGORY_CHANGED:
        return _changed(event, "category", Category)
    if kind == EventKind.PRIORITY_CHANGED:
        return _changed(event, "priority", Priority)
    if kind in (EventKind.ASSIGNED, EventKind.HANDED_OVER):
        return _assigned(event)
    if kind == EventKind.MERGED:
        if "into" in data:
            return f"merged it into {data.get('reference', '')}"
        return f"merged {data.get('reference', '')} into it"
    if kind == EventKind.LINKED:
        return f"linked it to {data.get('reference', '')} ({data.get('kind', 'related')})"
    if kind in (
        EventKind.ESCALATED,
        EventKind.ESCALATION_ANSWERED,
        EventKind.ESCALATION_CANCELLED,
    ):
        verbs = {
            EventKind.ESCALATED: "escalated it to",
            EventKind.ESCALATION_ANSWERED: "answered for",
            EventKind.ESCALATION_CANCELLED: "cancelled the escalation to",
        }
        why = f": {data['reason']}" if data.get("reason") else ""
        return f"{verbs[EventKind(kind)]} {data.get('group_name', '')}{why}"
    if kind == EventKind.TIMER_FIRED:
        return data.get("action") or "ran a timer step"
    if kind == EventKind.REQUESTER_CHANGED:
        why = f": {data['reason']}" if data.get("reason") else ""
        return f"made {data.get('new', '')} the requester instead of {data.get('old', '')}{why}"
    if kind == EventKind.OPENED:
        return CHANNELS.get(data.get("channel", ""), "opened it")
    return {
        EventKind.MESSAGE_RECEIVED: "wrote",
        EventKind.REPLY_SENT: "replied",
        EventKind.NOTE_ADDED: "added a note",
        EventKind.REOPENED: "reopened it",
        EventKind.IMPORTED_OPEN: "imported it still open, for the shifters",
    }.get(EventKind(kind), EventKind(kind).label.lower())


def history_lines(events: list[TicketEvent]) -> list[HistoryLine]:
    return [HistoryLine(e.at, _who(e), _what(e), e.kind) for e in events]

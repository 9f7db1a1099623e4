"""Writes on tickets. Every user-visible change goes through a function here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from common.bulk import update_rows
from people.models import Team
from tickets.events import (
    DESK,
    actor_person,
    actor_requester,
    event_build,
    event_record,
    events_record,
)
from tickets.models import (
    Category,
    ExternalRef,
    Message,
    MessageKind,
    Priority,
    Requester,
    Status,
    Ticket,
)
from tickets.models.events import EventKind
from tickets.selectors import requester_by_email


@dataclass(frozen=True)
class Sender:
    email: str
    name: str = ""

    def __post_init__(self) -> None:
        # Mail headers have no length limit; the columns do.
        object.__setattr__(self, "email", self.email.strip()[:254])
        object.__setattr__(self, "name", self.name.strip()[:200])


def requester_get_or_create(*, email: str, name: str = "") -> Requester:
    """The requester for an address (case-insensitive); fills in a missing name."""
    email = email.strip()
    requester = requester_by_email(email)
    if requester is None:
        requester, _ = Requester.objects.get_or_create(
            email=email.lower(), defaults={"name": name.strip()}
        )
    elif name and not requester.name:
        requester.name = name.strip()
        requester.save(update_fields=["name"])
    return requester


def _next_ticket_number(team: Team) -> int:
    # The UPDATE locks the team row until commit, so two openings never share a number.
    Team.objects.filter(pk=team.pk).update(last_ticket_number=F("last_ticket_number") + 1)
    return Team.objects.values_list("last_ticket_number", flat=True).get(pk=team.pk)


def ticket_open(
    *,
    team: Team,
    sender: Sender,
    subject: str,
    body_text: str,
    body_html: str = "",
    kind: MessageKind = MessageKind.WEB,
    category: Category | str = Category.OTHER,
    priority: Priority | int = Priority.NORMAL,
    message_id: str = "",
    in_reply_to: str = "",
    references: str = "",
    created_at: datetime | None = None,
    announce: bool = True,
    by: User | None = None,
) -> Ticket:
    """Open a ticket with its first message and record it opened: the requester's (or
    ``by``'s, a desk member). ``announce=False`` records without asking the consumers to
    react (an archive import routes and acknowledges nothing)."""
    created_at = created_at or timezone.now()
    with transaction.atomic():
        requester = requester_get_or_create(email=sender.email, name=sender.name)
        ticket = Ticket.objects.create(
            team=team,
            number=_next_ticket_number(team),
            subject=subject.strip()[:500] or "(no subject)",
            requester=requester,
            category=category,
            priority=priority,
            created_at=created_at,
            last_message_at=created_at,
        )
        message = ticket_add_message(
            ticket=ticket,
            kind=kind,
            sender=sender,
            author=by,
            subject=subject,
            body_text=body_text,
            body_html=body_html,
            message_id=message_id,
            in_reply_to=in_reply_to,
            references=references,
            created_at=created_at,
            record=False,
        )
        # The ticket's opening is the news, not its first message.
        actor = actor_person(by) if by is not None else actor_requester(requester.email)
        events_record(
            [
                event_build(
                    ticket=ticket,
                    kind=EventKind.OPENED,
                    actor=actor,
                    data={"message": message.pk, "channel": kind},
                    at=created_at,
                )
            ],
            deliver=announce,
        )
    return ticket


def ticket_add_message(
    *,
    ticket: Ticket,
    kind: MessageKind,
    body_text: str,
    body_html: str = "",
    sender: Sender | None = None,
    author: User | None = None,
    subject: str = "",
    message_id: str = "",
    in_reply_to: str = "",
    references: str = "",
    created_at: datetime | None = None,
    announce: bool = True,
    record: bool = True,
) -> Message:
    """Add a message to a ticket, keep the ticket's clocks right and record it (mail in,
    reply sent, note). ``record=False``: the caller records what happened (a ticket's
    opening is the news, not its first message)."""
    created_at = created_at or timezone.now()
    with transaction.atomic():
        message = Message.objects.create(
            ticket=ticket,
            team_id=ticket.team_id,
            kind=kind,
            author=author,
            sender_name=sender.name if sender else "",
            sender_email=sender.email if sender else "",
            subject=subject[:500],
            body_text=body_text,
            body_html=body_html,
            message_id=message_id,
            in_reply_to=in_reply_to,
            references=references,
            created_at=created_at,
        )
        updates: dict[str, object] = {}
        if kind != MessageKind.NOTE and created_at > ticket.last_message_at:
            updates["last_message_at"] = created_at
        if kind == MessageKind.EMAIL_OUT and ticket.first_response_at is None:
            updates["first_response_at"] = max(created_at, ticket.created_at)
        if updates:
            Ticket.objects.filter(pk=ticket.pk).update(**updates, updated_at=timezone.now())
            for field, value in updates.items():
                setattr(ticket, field, value)
        kinds = {
            MessageKind.EMAIL_IN: EventKind.MESSAGE_RECEIVED,
            MessageKind.WEB: EventKind.MESSAGE_RECEIVED,
            MessageKind.EMAIL_OUT: EventKind.REPLY_SENT,
            MessageKind.NOTE: EventKind.NOTE_ADDED,
        }
        if record and kind in kinds:
            actor = DESK
            if author is not None:
                actor = actor_person(author)
            elif kind in (MessageKind.EMAIL_IN, MessageKind.WEB) and sender is not None:
                actor = actor_requester(sender.email)
            events_record(
                [
                    event_build(
                        ticket=ticket,
                        kind=kinds[kind],
                        actor=actor,
                        data={"message": message.pk},
                        at=created_at,
                    )
                ],
                deliver=announce,
            )
    return message


_STATUS_TIMESTAMPS = {Status.RESOLVED: "resolved_at", Status.CLOSED: "closed_at"}


def ticket_set_status(
    *, ticket: Ticket, status: Status, at: datetime | None = None, by: User | None = None
) -> Ticket:
    """Change the status and record it (the timers re-arm or stop on that record)."""
    at = at or timezone.now()
    old = Status(ticket.status)
    fields = ["status", "updated_at"]
    ticket.status = status
    stamp = _STATUS_TIMESTAMPS.get(status)
    if stamp and getattr(ticket, stamp) is None:
        setattr(ticket, stamp, at)
        fields.append(stamp)
    if status == Status.CLOSED and ticket.resolved_at is None:
        ticket.resolved_at = at
        fields.append("resolved_at")
    if status in (Status.RESOLVED, Status.CLOSED) and ticket.overdue_since is not None:
        ticket.overdue_since = None
        fields.append("overdue_since")
    with transaction.atomic():
        ticket.save(update_fields=fields)
        if old != status:
            status_record(ticket, old, status, at=at, by=by)
    return ticket


def status_record(
    ticket: Ticket, old: Status, new: Status, *, at: datetime | None = None, by: User | None = None
) -> None:
    """Record a status change made by ``by`` (or by the desk)."""
    event_record(
        ticket=ticket,
        kind=EventKind.STATUS_CHANGED,
        actor=actor_person(by),
        data={"old": str(old), "new": str(new)},
        at=at,
    )


def ticket_mark_overdue(*, ticket: Ticket, at: datetime) -> None:
    """A response target passed: the ticket shows in the overdue queue until answered."""
    tickets_mark_overdue([(ticket, at)])


def tickets_mark_overdue(marks: Sequence[tuple[Ticket, datetime]]) -> None:
    """``ticket_mark_overdue`` for many (ticket, since when): one UPDATE per instant."""
    first: dict[int, datetime] = {}
    for ticket, at in marks:
        first.setdefault(ticket.pk, at)
        ticket.overdue_since = ticket.overdue_since or at
    groups: dict[datetime, list[int]] = {}
    for pk, at in first.items():
        groups.setdefault(at, []).append(pk)
    for at, pks in groups.items():
        Ticket.objects.filter(pk__in=pks, overdue_since__isnull=True).update(overdue_since=at)


def ticket_set_due(*, ticket: Ticket, due_at: datetime | None) -> None:
    """Store when the ticket's next target passes (shown in the queue; past it, the ticket
    is overdue). Written only when it changes."""
    if ticket.due_at != due_at:
        Ticket.objects.filter(pk=ticket.pk).update(due_at=due_at)
        ticket.due_at = due_at


def tickets_set_due(dues: Sequence[tuple[Ticket, datetime | None]]) -> None:
    """``ticket_set_due`` for many tickets, one UPDATE for those that change: with their
    common due time (a batch of tickets that came together), or each with its own (the
    timers of a sweep, due one after the other)."""
    changed = {ticket.pk: (ticket, due_at) for ticket, due_at in dues if ticket.due_at != due_at}
    if not changed:
        return
    for ticket, due_at in changed.values():
        ticket.due_at = due_at
    values = {due_at for _, due_at in changed.values()}
    if len(values) == 1:
        Ticket.objects.filter(pk__in=changed).update(due_at=values.pop())
    else:
        update_rows([ticket for ticket, _ in changed.values()], ["due_at"])


def ticket_flag_reply(*, ticket: Ticket, at: datetime) -> None:
    """A reply came that the owner should read (a badge in the queue until they open it)."""
    Ticket.objects.filter(pk=ticket.pk).update(unseen_reply_at=at)
    ticket.unseen_reply_at = at


def ticket_seen(*, ticket: Ticket, user: User) -> None:
    """The owner opened the ticket: the badge goes."""
    if ticket.unseen_reply_at is not None and ticket.assignee_id == user.pk:
        Ticket.objects.filter(pk=ticket.pk).update(unseen_reply_at=None)
        ticket.unseen_reply_at = None


def message_mark_expert(*, message: Message, verified: bool) -> None:
    """An inbound mail answers for an expert group; unverified when its sender is not the
    group's (it is kept, and closes nothing)."""
    Message.objects.filter(pk=message.pk).update(kind=MessageKind.EXPERT, unverified=not verified)
    message.kind, message.unverified = MessageKind.EXPERT, not verified


def external_refs_add(
    *,
    ticket: Ticket,
    refs: Sequence[tuple[str, str]],
    found_in: Message | None = None,
    by: User | None = None,
) -> list[ExternalRef]:
    """Store references to other trackers on the ticket; known ones are left as they are."""
    if not refs:
        return []
    ExternalRef.objects.bulk_create(
        [
            ExternalRef(ticket=ticket, system=system, key=key, found_in=found_in, added_by=by)
            for system, key in refs
        ],
        ignore_conflicts=True,
    )
    keys = {key for _, key in refs}
    return list(ExternalRef.objects.filter(ticket=ticket, key__in=keys))


def ticket_assign(
    *,
    ticket: Ticket,
    assignee: User | None,
    shadow: User | None = None,
    zone: str = "",
    only_if_unassigned: bool = True,
    reason: str = "routing",
) -> bool:
    """Give the ticket an owner (and a trainee shadow). With ``only_if_unassigned``, a ticket
    that has an owner keeps it: the conditional UPDATE also settles a race with a shifter
    taking it by hand. True when the ticket changed."""
    tickets = Ticket.objects.filter(pk=ticket.pk)
    if only_if_unassigned:
        tickets = tickets.filter(assignee__isnull=True)
    changed = tickets.update(
        assignee=assignee,
        shadow=shadow,
        zone=zone or ticket.zone,
        after_hours=False,
        updated_at=timezone.now(),
    )
    if changed:
        before = _owner(ticket)
        ticket.assignee, ticket.shadow, ticket.after_hours = assignee, shadow, False
        ticket.zone = zone or ticket.zone
        event_record(
            ticket=ticket,
            kind=EventKind.ASSIGNED,
            data=assignment_data(ticket, reason, before=before),
        )
    return changed == 1


def _owner(ticket: Ticket) -> tuple[int | None, str]:
    """Who has the ticket (pk, username) before a change: the name only when the owner is
    loaded already (a handover's batch must not cost a query per ticket)."""
    if ticket.assignee_id is None:
        return None, ""
    if Ticket.assignee.is_cached(ticket):
        assert ticket.assignee is not None
        return ticket.assignee_id, ticket.assignee.get_username()
    return ticket.assignee_id, ""


def assignment_data(
    ticket: Ticket, reason: str, *, before: tuple[int | None, str] = (None, "")
) -> dict[str, object]:
    """What an assignment event keeps: who has the ticket now, who had it, who shadows, the
    zone."""
    data: dict[str, object] = {
        "to": ticket.assignee_id,
        "to_name": ticket.assignee.get_username() if ticket.assignee else "",
        "shadow": ticket.shadow_id,
        "zone": ticket.zone,
        "reason": reason,
    }
    if before[0] is not None and before[0] != ticket.assignee_id:
        data["from"], data["from_name"] = before
    return data


def ticket_mark_after_hours(*, ticket: Ticket, owned: bool = False, flag: bool = True) -> None:
    """Flag a ticket waiting for the next shift (``flag=False``: it waits no longer). Only an
    unassigned one unless ``owned``: an owner who went off shift keeps it until the next
    shift takes it."""
    if ticket.after_hours == flag and (owned or ticket.assignee_id is None):
        return  # so it is already, as read in this transaction (a sweep's step, each time)
    tickets = Ticket.objects.filter(pk=ticket.pk)
    if not owned:
        tickets = tickets.filter(assignee__isnull=True)
    if tickets.update(after_hours=flag):
        ticket.after_hours = flag


def tickets_mark_after_hours(*, tickets: Sequence[Ticket]) -> None:
    """Flag unassigned tickets waiting for the next shift, in one UPDATE."""
    Ticket.objects.filter(pk__in=[t.pk for t in tickets], assignee__isnull=True).update(
        after_hours=True
    )
    for ticket in tickets:
        ticket.after_hours = ticket.assignee_id is None or ticket.after_hours


def tickets_reassign(
    *,
    tickets: Sequence[Ticket],
    assignee: User | None,
    shadow: User | None = None,
    zone: str = "",
    kind: EventKind = EventKind.ASSIGNED,
    reason: str = "reroute",
) -> int:
    """Give tickets a new owner whoever has them now, in one UPDATE (a shift handover, a
    reopened ticket). Without an assignee they wait unassigned and flagged after-hours for
    the next shift. The caller decides which tickets, under its own locks. Returns how many
    changed."""
    if not tickets:
        return 0
    fields: dict[str, object] = {
        "assignee": assignee,
        "shadow": shadow,
        "after_hours": assignee is None,
        "updated_at": timezone.now(),
    }
    if zone:
        fields["zone"] = zone
    changed = Ticket.objects.filter(pk__in=[t.pk for t in tickets]).update(**fields)
    before = {t.pk: _owner(t) for t in tickets}
    for ticket in tickets:
        ticket.assignee, ticket.shadow, ticket.after_hours = assignee, shadow, assignee is None
        ticket.zone = zone or ticket.zone
    events_record(
        [
            event_build(ticket=t, kind=kind, data=assignment_data(t, reason, before=before[t.pk]))
            for t in tickets
        ]
    )
    return changed

"""What a shifter does on a ticket page beside replying: notes, fields, assignment, merge,
links, canned answers, and trainees' replies held for approval.

Every function checks what the desk's rules forbid and raises ``DeskError`` with the field
at fault; who may act at all (the team's desk roles) is the view's business.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from common.errors import ApplicationError
from common.links import site_url
from people.models import Membership, Role
from people.names import display_name
from tickets.events import actor_person, event_build, event_record, events_record
from tickets.mail.outbox import mail_send
from tickets.models import (
    CannedAnswer,
    Category,
    DraftState,
    LinkKind,
    Message,
    MessageKind,
    Priority,
    ReplyDraft,
    Status,
    Ticket,
    TicketLink,
)
from tickets.models.events import EventKind
from tickets.models.mail import OutboundKind
from tickets.selectors import desk_people
from tickets.services.replies import ticket_reply
from tickets.services.tickets import (
    Sender,
    assignment_data,
    ticket_add_message,
    ticket_set_status,
)

MAX_BODY = 100_000


class DeskError(ApplicationError):
    """A refused action on a ticket; ``field`` names the input at fault."""


def _sender(user: User) -> Sender:
    return Sender(user.email, display_name(user))


def _body(text: str, field: str = "body") -> str:
    # Browsers send a textarea's lines ending in CRLF: store them as the rest of the desk does.
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise DeskError("Write something first.", field=field)
    if len(text) > MAX_BODY:
        raise DeskError(f"At most {MAX_BODY:,} characters.", field=field)
    return text


def is_trainee(ticket: Ticket, user: User) -> bool:
    """A trainee of the ticket's team (and nothing more senior there): replies wait."""
    roles = set(
        Membership.objects.filter(team_id=ticket.team_id, user=user).values_list("role", flat=True)
    )
    return Role.TRAINEE in roles and not roles & {Role.SHIFTER, Role.COORDINATOR, Role.ADMIN}


# --- the thread -----------------------------------------------------------------------------


def ticket_note(*, ticket: Ticket, author: User, body_text: str) -> Message:
    """An internal note: the desk sees it, the requester never does, no mail goes out."""
    return ticket_add_message(
        ticket=ticket,
        kind=MessageKind.NOTE,
        body_text=_body(body_text),
        sender=_sender(author),
        author=author,
    )


def ticket_answer(
    *, ticket: Ticket, author: User, body_text: str, canned: CannedAnswer | None = None
) -> Message | ReplyDraft:
    """A reply from the ticket page: a trainee's waits as a draft for the shifter they
    shadow; anyone else's goes out at once. A canned answer it started from is counted."""
    body = _body(body_text)
    if ticket.status == Status.CLOSED:
        raise DeskError(f"{ticket.reference} is closed: reopen it to answer.", field="status")
    with transaction.atomic():
        if canned is not None:
            CannedAnswer.objects.filter(pk=canned.pk, team_id=ticket.team_id).update(
                uses=F("uses") + 1
            )
        if is_trainee(ticket, author):
            draft = ReplyDraft.objects.create(
                ticket=ticket, author=author, body_text=body, created_at=timezone.now()
            )
            _draft_announce(draft)
            return draft
        return ticket_reply(ticket=ticket, author=author, body_text=body)


def _draft_announce(draft: ReplyDraft) -> None:
    """The shifter the trainee shadows hears of a draft waiting for them, by mail through the
    outbox (sent after commit), with the link to approve it. Without an owner, the queue's
    "To approve" view is where the team finds it."""
    ticket, trainee = draft.ticket, draft.author
    owner = ticket.assignee
    if owner is None or not owner.email or owner.pk == trainee.pk:
        return
    url = site_url(ticket, f"d{draft.pk}")
    mail_send(
        "draft_to_approve",
        team=ticket.team,
        ticket=ticket,
        kind=OutboundKind.NOTIFICATION,
        to=[owner.email],
        context={
            "trainee": display_name(trainee),
            "reference": ticket.reference,
            "subject": ticket.subject,
            "url": url,
        },
        automatic=True,
    )


def reply_draft_decide(
    *, draft: ReplyDraft, by: User, approve: bool, body_text: str = "", comment: str = ""
) -> Message | None:
    """The shifter approves a trainee's draft (perhaps edited: it goes out as the trainee's
    reply) or sends it back with a comment. Decided once."""
    if is_trainee(draft.ticket, by):
        raise DeskError("A trainee cannot approve replies.")
    with transaction.atomic():
        locked = ReplyDraft.objects.select_for_update().get(pk=draft.pk)
        if locked.state != DraftState.PENDING:
            raise DeskError(f"This draft was already {locked.get_state_display().lower()}.")
        locked.decided_by, locked.decided_at = by, timezone.now()
        message = None
        if approve:
            body = _body(body_text or locked.body_text)
            message = ticket_reply(ticket=draft.ticket, author=locked.author, body_text=body)
            locked.state, locked.message, locked.body_text = DraftState.SENT, message, body
        else:
            locked.state, locked.comment = DraftState.REJECTED, comment.strip()[:2000]
        locked.save()
    return message


# --- fields and owner -----------------------------------------------------------------------


def ticket_update(
    *,
    ticket: Ticket,
    status: str | None = None,
    category: str | None = None,
    priority: int | None = None,
    by: User | None = None,
) -> list[str]:
    """Change status, category and priority (``by`` someone, recorded as theirs); returns
    the names of what changed."""
    changed: list[str] = []
    with transaction.atomic():
        recorded: list[tuple[EventKind, object, object]] = []
        if category is not None and category != ticket.category:
            if category not in Category.values:
                raise DeskError(f"“{category}” is not a category.", field="category")
            recorded.append((EventKind.CATEGORY_CHANGED, ticket.category, category))
            ticket.category = category
            changed.append("category")
        if priority is not None and priority != ticket.priority:
            if priority not in Priority.values:
                raise DeskError(f"“{priority}” is not a priority.", field="priority")
            recorded.append((EventKind.PRIORITY_CHANGED, ticket.priority, priority))
            ticket.priority = priority
            changed.append("priority")
        if changed:
            ticket.save(update_fields=[*changed, "updated_at"])
            events_record(
                [
                    event_build(
                        ticket=ticket, kind=kind, actor=actor_person(by), data={"old": o, "new": n}
                    )
                    for kind, o, n in recorded
                ]
            )
        if status is not None and status != ticket.status:
            if status not in Status.values:
                raise DeskError(f"“{status}” is not a status.", field="status")
            ticket_set_status(ticket=ticket, status=Status(status), by=by)
            changed.append("status")
    return changed


def ticket_give(*, ticket: Ticket, assignee: User | None, by: User | None = None) -> None:
    """Assign (or unassign) by hand: whoever had it, the chosen person has it now."""
    if assignee is not None and assignee not in desk_people(ticket.team_id):
        raise DeskError(
            "Only the team's shifters and coordinators can own tickets.", field="assignee"
        )
    with transaction.atomic():
        Ticket.objects.filter(pk=ticket.pk).update(
            assignee=assignee, after_hours=False, updated_at=timezone.now()
        )
        ticket.assignee, ticket.after_hours = assignee, False
        event_record(
            ticket=ticket,
            kind=EventKind.ASSIGNED,
            actor=actor_person(by),
            data=assignment_data(ticket, "by hand"),
        )


# --- merge and links ------------------------------------------------------------------------


def ticket_merge(*, ticket: Ticket, into: Ticket, by: User, at: datetime | None = None) -> int:
    """Merge a duplicate into ``into``: its messages move there (the thread reads as one),
    it closes pointing at ``into``, and mail to it from now on threads into ``into``.
    Returns how many messages moved."""
    at = at or timezone.now()
    if into.pk == ticket.pk:
        raise DeskError("A ticket cannot be merged into itself.", field="into")
    if into.team_id != ticket.team_id:
        raise DeskError(f"{into.reference} belongs to another team.", field="into")
    if into.merged_into_id is not None:
        raise DeskError(f"{into.reference} was itself merged: merge into the one it went to.")
    if ticket.merged_into_id is not None:
        raise DeskError(f"{ticket.reference} is already merged.")
    with transaction.atomic():
        # Both rows locked, in pk order: a reply being threaded meanwhile waits for the merge.
        list(Ticket.objects.select_for_update().filter(pk__in=[ticket.pk, into.pk]).order_by("pk"))
        moved = Message.objects.filter(ticket=ticket).update(ticket=into)
        ticket.merged_into = into
        ticket.save(update_fields=["merged_into", "updated_at"])
        events_record(
            [
                event_build(
                    ticket=ticket,
                    kind=EventKind.MERGED,
                    actor=actor_person(by),
                    data={"into": into.pk, "reference": into.reference, "messages": moved},
                    at=at,
                ),
                event_build(
                    ticket=into,
                    kind=EventKind.MERGED,
                    actor=actor_person(by),
                    data={"from": ticket.pk, "reference": ticket.reference, "messages": moved},
                    at=at,
                ),
            ]
        )
        ticket_set_status(ticket=ticket, status=Status.CLOSED, at=at, by=by)
        ticket_add_message(
            ticket=into,
            kind=MessageKind.NOTE,
            body_text=f"{ticket.reference} “{ticket.subject}” was merged into this ticket "
            f"({moved} messages).",
            sender=_sender(by),
            author=by,
            created_at=at,
        )
        first = Message.objects.filter(ticket=into).order_by("created_at").first()
        latest = Message.objects.filter(ticket=into).exclude(kind=MessageKind.NOTE)
        last = latest.order_by("-created_at").values_list("created_at", flat=True).first()
        Ticket.objects.filter(pk=into.pk).update(
            last_message_at=last or into.last_message_at,
            created_at=min(into.created_at, first.created_at if first else into.created_at),
        )
    return moved


def ticket_link(
    *, ticket: Ticket, other: Ticket, kind: str = LinkKind.RELATED, by: User | None = None
) -> TicketLink:
    if other.pk == ticket.pk:
        raise DeskError("A ticket cannot be linked to itself.", field="other")
    if other.team_id != ticket.team_id:
        raise DeskError(f"{other.reference} belongs to another team.", field="other")
    if kind not in LinkKind.values:
        raise DeskError(f"“{kind}” is not a kind of link.", field="kind")
    with transaction.atomic():
        link, made = TicketLink.objects.get_or_create(
            from_ticket=ticket, to_ticket=other, defaults={"kind": kind}
        )
        if made:
            event_record(
                ticket=ticket,
                kind=EventKind.LINKED,
                actor=actor_person(by),
                data={"to": other.pk, "reference": other.reference, "kind": kind},
            )
    return link


# --- bulk -----------------------------------------------------------------------------------


def tickets_bulk(
    *,
    tickets: Sequence[Ticket],
    by: User,
    assignee: User | None = None,
    category: str | None = None,
    close: bool = False,
) -> int:
    """One action on many tickets from the queue; each goes through the single-ticket
    service, so timers and listeners hear of every change. Returns how many changed."""
    changed = 0
    with transaction.atomic():
        for ticket in tickets:
            if assignee is not None:
                ticket_give(ticket=ticket, assignee=assignee, by=by)
            touched = ticket_update(
                ticket=ticket,
                category=category,
                status=Status.CLOSED if close else None,
                by=by,
            )
            changed += bool(touched) or assignee is not None
    return changed

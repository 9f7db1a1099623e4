"""Writes of the escalation app: escalate a ticket to a group (or to wait on another
tracker), cancel it, take an expert's reply in, and keep the ticket's timers in step with
what happens to the ticket."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from common.errors import ApplicationError
from common.links import site_url
from escalation import bridges
from escalation.addresses import escalation_address, escalation_message_id, signed_by_desk
from escalation.businesstime import NoBusinessTime, working_hours_text
from escalation.calendars import after_covered, after_working, calendar_label
from escalation.ending import escalation_end
from escalation.holds import hold_for
from escalation.models import (
    Escalation,
    EscalationState,
    ExpertGroup,
    GroupKind,
    Timer,
    TimerKind,
)
from escalation.nextlevel import next_levels_stand_down
from escalation.steps import mail_people, team_coordinators, waiting_user_due
from escalation.timers import due_refresh, timer_arm, timers_cancel
from people.names import display_name
from tickets.events import actor_group, actor_person, event_record
from tickets.gridtext import find_ids
from tickets.mail.outbox import mail_send
from tickets.models import ExternalRef, Message, MessageKind, Status, Ticket
from tickets.models.events import EventKind
from tickets.models.mail import OutboundKind
from tickets.services import (
    Sender,
    external_refs_add,
    message_mark_expert,
    ticket_add_message,
    ticket_flag_reply,
    ticket_set_status,
)

CLOSED = (Status.RESOLVED, Status.CLOSED)
LAST_MESSAGE_CHARS = 4000


class EscalationError(ApplicationError):
    """A refused escalation; ``field`` names the input at fault, when one is."""


def _essentials(ticket: Ticket) -> str:
    messages = list(
        ticket.messages.exclude(kind=MessageKind.NOTE).order_by("created_at", "pk")[:200]
    )
    ids = find_ids(
        "\n".join([ticket.subject, *(m.body_text for m in messages)]),
        jira_projects=settings.JIRA_PROJECTS,
    )
    lines = []
    for label, values in (
        ("JEDI tasks", ids.tasks),
        ("PanDA jobs", ids.jobs),
        ("Datasets", ids.datasets),
        ("Queues", ids.queues),
        ("Sites/RSEs", ids.sites),
        ("JIRA", ids.jira),
        ("GGUS", ids.ggus),
    ):
        if values:
            lines.append(f"  {label}: {', '.join(str(v) for v in values[:20])}")
    last = next(
        (m for m in reversed(messages) if m.kind in (MessageKind.EMAIL_IN, MessageKind.WEB)), None
    )
    quoted = ""
    if last is not None:
        text = last.body_text[: last.quote_start or None][:LAST_MESSAGE_CHARS].strip()
        quoted = "\n".join(f"> {line}" for line in text.splitlines())
        quoted = f"\nTheir last message ({last.created_at:%d %b %Y %H:%M} UTC):\n{quoted}\n"
    found = "\n".join(lines) if lines else "  (none recognised)"
    return (
        f"Ticket:    {ticket.reference} “{ticket.subject}”\n"
        f"Requester: {ticket.requester.name} <{ticket.requester.email}>\n"
        f"Category:  {ticket.get_category_display()}\n"
        f"Link:      {site_url(ticket)}\n\nIdentifiers found in the thread:\n{found}\n{quoted}"
    )


def escalation_context(esc: Escalation) -> str:
    """What another tracker's ticket opened with an escalation says: the shifter's note and
    the ticket's essentials (the same as the group's mail)."""
    return f"{esc.note}\n\n{_essentials(esc.ticket)}"


def escalation_create(
    *,
    ticket: Ticket,
    by: User | None,
    note: str,
    group: ExpertGroup | None = None,
    external_ref: ExternalRef | None = None,
    at: datetime | None = None,
    override_hold: bool = False,
    also: Sequence[str] = (),
) -> Escalation:
    """Ask ``group`` about the ticket (or wait on ``external_ref``): mail the group with the
    ticket's essentials and a reply address of its own, note it on the ticket, set the
    ticket waiting on expert, and start the response timer. A site or cloud in a declared
    outage (escalation.holds) gets the mail when the outage ends and its timer starts then,
    unless ``override_hold``. ``also`` names bridges (escalation.bridges) that open a
    ticket in another tracker too (GGUS), started in the same transaction."""
    at = at or timezone.now()
    if ticket.status in CLOSED:
        raise EscalationError(
            f"{ticket.reference} is {ticket.get_status_display().lower()}: "
            "reopen it before escalating."
        )
    if group is None and external_ref is None:
        raise EscalationError("Choose a group or site to escalate to.", field="group")
    if group is not None and (group.team_id != ticket.team_id or not group.active):
        raise EscalationError("Unknown group for this team.", field="group")
    if external_ref is not None and external_ref.ticket_id != ticket.pk:
        raise EscalationError("That reference belongs to another ticket.", field="external_ref")
    note = note.strip()
    if not note:
        raise EscalationError("Write a short note: what you need from them.", field="note")
    chosen = bridges.named(also)
    for bridge in chosen:
        if group is None or not bridge.accepts(group) or not bridge.available():
            raise EscalationError(
                f"{bridge.label}: only for an escalation to a site, when it is configured.",
                field="group",
            )
    site_like = group is not None and group.kind != GroupKind.EXPERT
    hold = hold_for(group, at) if group is not None and site_like and not override_hold else None
    default_target = settings.SITE_TARGET_HOURS if site_like else settings.EXPERT_TARGET_HOURS
    with transaction.atomic():
        esc = Escalation.objects.create(
            ticket=ticket,
            group=group,
            external_ref=external_ref,
            note=note,
            created_by=by,
            token=secrets.token_hex(10),
            target_hours=group.response_target_hours if group else default_target,
            remind_percent=group.remind_percent if group else settings.ESCALATION_REMIND_PERCENT,
            next_level_percent=(
                group.next_level_percent if group else settings.ESCALATION_NEXT_LEVEL_PERCENT
            ),
            calendar_id=group.calendar_in_force_id if group else None,
            created_at=at,
        )
        if group is not None:
            _mail_group(esc, group, by)
        for bridge in chosen:
            bridge.start(esc, by, at)
        held = ""
        if hold is not None and esc.outbound is not None:  # the outbox sends it then
            esc.outbound.next_attempt_at = hold.until
            esc.outbound.save(update_fields=["next_attempt_at"])
            held = f" Held: {hold.reason}; the mail goes {hold.until:%a %d %b %H:%M} UTC."
        event_record(
            ticket=ticket,
            kind=EventKind.ESCALATED,
            actor=actor_person(by),
            data=esc.event_data() | ({"held_until": hold.until.isoformat()} if hold else {}),
            at=at,
        )
        ticket_add_message(
            ticket=ticket,
            kind=MessageKind.NOTE,
            body_text=f"Escalated to {esc.target_name}: {note}{held}",
            sender=Sender(by.email if by else "", display_name(by) if by else "DAST Desk"),
            author=by,
            created_at=at,
            announce=False,
        )
        if ticket.status != Status.WAITING_ON_EXPERT:
            ticket_set_status(ticket=ticket, status=Status.WAITING_ON_EXPERT, at=at)
        first = min(esc.remind_percent, esc.next_level_percent)
        timer_arm(
            ticket=ticket,
            kind=TimerKind.EXPERT_RESPONSE,
            escalation=esc,
            started_at=hold.until if hold else at,
            due_at=after_working(
                ticket.team,
                hold.until if hold else at,
                esc.target_hours * first / 100,
                esc.calendar_id,
            ),
        )
    return esc


def _mail_group(esc: Escalation, group: ExpertGroup, by: User | None) -> None:
    ticket = esc.ticket
    esc.message_id = escalation_message_id(esc)
    outbound = mail_send(
        "escalation",
        team=ticket.team,
        ticket=ticket,
        kind=OutboundKind.ESCALATION,
        to=[group.email],
        context={
            "subject": ticket.subject,
            "group": group.name,
            "by": display_name(by) if by else "",
            "team": ticket.team.name,
            "note": esc.note,
            "essentials": _essentials(ticket),
            "target": working_hours_text(esc.target_hours),
            "calendar": calendar_label(ticket.team, esc.calendar_id),
        },
        message_id=esc.message_id,
        reply_to=escalation_address(esc),
    )
    esc.outbound = outbound
    esc.save(update_fields=["message_id", "outbound"])


def escalation_cancel(
    *, escalation: Escalation, by: User | None, at: datetime | None = None
) -> None:
    at = at or timezone.now()
    with transaction.atomic():
        esc = Escalation.objects.select_for_update().select_related("ticket").get(pk=escalation.pk)
        if esc.state != EscalationState.WAITING:
            raise EscalationError(f"This escalation is already {esc.get_state_display().lower()}.")
        esc.state, esc.cancelled_at = EscalationState.CANCELLED, at
        esc.save(update_fields=["state", "cancelled_at"])
        timers_cancel(ticket=esc.ticket, escalation=esc, at=at)
        who = display_name(by) if by else "The shifters"
        bridges.stop_all(esc, at, f"{who} of {esc.ticket.team.name} cancelled the escalation")
        event_record(
            ticket=esc.ticket,
            kind=EventKind.ESCALATION_CANCELLED,
            actor=actor_person(by),
            data=esc.event_data(),
            at=at,
        )
        ticket_add_message(
            ticket=esc.ticket,
            kind=MessageKind.NOTE,
            body_text=f"Escalation to {esc.target_name} cancelled.",
            sender=Sender(by.email if by else "", display_name(by) if by else "DAST Desk"),
            author=by,
            created_at=at,
            announce=False,
        )
        _back_to_open(esc.ticket, at)


def _back_to_open(ticket: Ticket, at: datetime) -> None:
    """Nobody left to wait for: the ticket is the shifter's again."""
    waiting = Escalation.objects.filter(ticket=ticket, state=EscalationState.WAITING).exists()
    if not waiting and ticket.status == Status.WAITING_ON_EXPERT:
        ticket_set_status(ticket=ticket, status=Status.OPEN, at=at)


# --- replies --------------------------------------------------------------------------------


def _escalation_of(message: Message) -> tuple[Escalation | None, bool, bool]:
    """The escalation a mail answers; whether it named one that does not exist (a tampered
    or unknown token); and whether it proved it answers (the token address, or the signed
    Message-ID of the desk's mail to the group)."""
    ticket = message.ticket
    pattern = re.compile(rf"\+{ticket.reply_token}\.([0-9a-z]{{1,40}})@", re.IGNORECASE)
    tokens = {t.lower() for t in pattern.findall(message.recipients)}
    escalations = Escalation.objects.filter(ticket=ticket).select_related("group")
    if tokens:
        found = escalations.filter(token__in=tokens).first()
        if found is not None:
            return found, False, True
    ids = set(f"{message.in_reply_to} {message.references}".split())
    if ids:
        found = escalations.filter(message_id__in=ids).first()
        if found is not None:
            return found, False, signed_by_desk(found, found.message_id)
    return None, bool(tokens), False


def expert_reply_take(*, message: Message, at: datetime | None = None) -> Escalation | None:
    """If ``message`` answers an escalation, file it as the group's reply: mark the
    escalation answered (stopping its timers), flag the ticket for its owner and tell them.
    An answer counts only when it reached the escalation's token address or names the
    escalation mail's signed Message-ID, and comes from an address of the group; any other
    reply to the escalation is kept, marked unverified, and closes nothing: a ``From:`` is
    easily forged, and so is an In-Reply-To that someone has seen."""
    at = at or timezone.now()
    if message.kind != MessageKind.EMAIL_IN:
        return None
    esc, tampered, proven = _escalation_of(message)
    ticket = message.ticket
    if esc is None:
        if tampered:
            ticket_add_message(
                ticket=ticket,
                kind=MessageKind.NOTE,
                body_text=(
                    f"The mail from {message.sender_email} was sent to an escalation address "
                    "that does not exist (mistyped or tampered with). It is kept above; no "
                    "escalation was marked answered."
                ),
                sender=Sender("", "DAST Desk"),
                created_at=at,
                announce=False,
            )
        return None
    verified = proven and esc.speaks_for(message.sender_email)
    with transaction.atomic():
        message_mark_expert(message=message, verified=verified)
        if not verified:
            return esc
        return escalation_answer(
            escalation=esc,
            message=message,
            who=f"{message.sender_name or message.sender_email} ({esc.target_name})",
            at=at,
        )


def escalation_answer(
    *, escalation: Escalation, message: Message | None, who: str, at: datetime | None = None
) -> Escalation:
    """The group answered (by mail, or another tracker says its ticket is solved): the
    escalation is answered and its timers stop, the ticket is flagged for its owner, who is
    told. Nothing is done twice for the same answer; an escalation that was cancelled stays
    so, but its owner still hears of the answer."""
    at = at or timezone.now()
    with transaction.atomic():
        locked = Escalation.objects.select_for_update().get(pk=escalation.pk)
        # The caller's ticket object, so that it sees the status this changes.
        ticket = message.ticket if message is not None else escalation.ticket
        if locked.state == EscalationState.ANSWERED and (
            message is None or locked.answer_id == message.pk
        ):
            return locked  # this answer was taken before: nothing to do again
        if locked.state == EscalationState.WAITING:
            locked.state, locked.answered_at, locked.answer = (
                EscalationState.ANSWERED,
                at,
                message,
            )
            locked.save(update_fields=["state", "answered_at", "answer"])
            timers_cancel(ticket=ticket, escalation=locked, at=at)
            event_record(
                ticket=ticket,
                kind=EventKind.ESCALATION_ANSWERED,
                actor=actor_group(locked.target_name),
                data=locked.event_data() | {"message": message.pk if message else None},
                at=at,
            )
            if locked.level:  # a next level was asked: it need not wait any more
                locked.ticket = ticket
                next_levels_stand_down(esc=locked, at=at)
        ticket_flag_reply(ticket=ticket, at=at)
        _back_to_open(ticket, at)
        mail_people(
            ticket,
            [ticket.assignee] if ticket.assignee else team_coordinators(ticket.team),
            "desk_group_answered",
            {"target": locked.target_name, "who": who},
        )
    return locked


# --- the ticket's own timers ----------------------------------------------------------------


def first_response_arm(*, ticket: Ticket) -> None:
    """The shifter's first answer is due FIRST_RESPONSE_COVERED_HOURS of shift time after
    the ticket came (so a ticket on Friday at 23:00 is not late on Saturday)."""
    try:
        due = after_covered(ticket.team, ticket.created_at, settings.FIRST_RESPONSE_COVERED_HOURS)
    except NoBusinessTime:
        return  # a team without shift hours has no such target
    timer_arm(
        ticket=ticket, kind=TimerKind.FIRST_RESPONSE, started_at=ticket.created_at, due_at=due
    )


def first_response_arm_many(*, tickets: list[Ticket]) -> None:
    """``first_response_arm`` for tickets that have no first-answer timer yet (the routing
    consumer's batch): one INSERT; their due times are refreshed by the caller's
    ``due_refresh_deferred`` block, or here one at a time without one."""
    timers = []
    for ticket in tickets:
        try:
            due = after_covered(
                ticket.team, ticket.created_at, settings.FIRST_RESPONSE_COVERED_HOURS
            )
        except NoBusinessTime:
            continue  # a team without shift hours has no such target
        timers.append(
            Timer(
                ticket=ticket,
                kind=TimerKind.FIRST_RESPONSE,
                started_at=ticket.created_at,
                due_at=due,
            )
        )
    Timer.objects.bulk_create(timers)
    for timer in timers:
        due_refresh(timer.ticket)


def status_timers(*, ticket: Ticket, old: str, new: str, at: datetime | None = None) -> None:
    """Re-arm or stop timers when the status changes."""
    at = at or timezone.now()
    if new in CLOSED:
        timers_cancel(ticket=ticket, at=at)
        waiting = Escalation.objects.filter(ticket=ticket, state=EscalationState.WAITING)
        for esc in waiting.select_related("group"):
            esc.ticket = ticket
            _cancel_on_close(esc, Status(new), at)
        return
    if new == Status.WAITING_ON_USER:
        timer_arm(
            ticket=ticket,
            kind=TimerKind.WAITING_USER,
            started_at=at,
            due_at=waiting_user_due(ticket.team, at, 0),
        )
    elif old == Status.WAITING_ON_USER:
        timers_cancel(ticket=ticket, kinds=[TimerKind.WAITING_USER], at=at)


def _cancel_on_close(esc: Escalation, status: Status, at: datetime) -> None:
    """The ticket was resolved or closed while waiting on ``esc``: the escalation ends, the
    group is told in the escalation's own thread (its answer would still reach the ticket),
    and the ticket says so. The requester is not told: escalations are the desk's internal
    business, and the requester hears of the resolution itself."""
    ticket = esc.ticket
    done = status.label.lower()
    bridges.stop_all(esc, at, f"the {ticket.team.name} shifters have {done} {ticket.reference}")
    escalation_end(
        esc,
        ticket,
        at=at,
        reason=f"ticket {status.value}",
        template="escalation_cancelled",
        context={
            "group": esc.group.name if esc.group else "",
            "team": ticket.team.name,
            "done": done,
        },
        note=f"Escalation to {esc.target_name} cancelled: the ticket was {done}.",
    )


def refs_from_message(*, message: Message) -> None:
    """JIRA keys and GGUS numbers in a mail are stored on its ticket."""
    external_refs_add(ticket=message.ticket, refs=_refs(message), found_in=message)


def refs_from_messages(*, messages: list[Message]) -> None:
    """``refs_from_message`` for a batch: one INSERT; known references stay as they are."""
    ExternalRef.objects.bulk_create(
        [
            ExternalRef(ticket_id=m.ticket_id, system=system, key=key, found_in=m)
            for m in messages
            for system, key in _refs(m)
        ],
        ignore_conflicts=True,
    )


def _refs(message: Message) -> list[tuple[str, str]]:
    ids = find_ids(f"{message.subject}\n{message.body_text}", jira_projects=settings.JIRA_PROJECTS)
    return [("jira", key) for key in ids.jira] + [("ggus", str(n)) for n in ids.ggus]

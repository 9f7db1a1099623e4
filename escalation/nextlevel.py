"""The next level answers like an expert group.

When a group stays silent to its next-level point, the next level (another group, the
zone's coordinator or the team's coordinators) is asked by an escalation of its own: a
child of the silent one (``parent``), with its own token reply address and signed
Message-ID, its own timer (a reminder, then its own next level), and an answer that is
taken in like any expert's (``expert_reply_take``: the ``escalation answered`` event),
not as a requester's mail. Nobody is asked twice along one chain, and a chain stops after
MAX_DEPTH levels. When the silent group answers after all, the levels still waiting above
it are told so and stop waiting (``next_levels_stand_down``)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings

from common.links import site_url
from escalation.addresses import escalation_address, escalation_message_id
from escalation.calendars import after_working, calendar_label
from escalation.ending import escalation_end
from escalation.models import Escalation, EscalationState, ExpertGroup, TimerKind
from escalation.timers import timer_arm, timers_cancel
from tickets.events import event_record
from tickets.mail.outbox import mail_send
from tickets.models import EventKind
from tickets.models.mail import OutboundKind

MAX_DEPTH = 3


@dataclass
class Asked:
    """Who a chain of escalations has asked so far."""

    groups: set[int] = field(default_factory=set)
    addresses: set[str] = field(default_factory=set)


def asked_in_chain(esc: Escalation) -> Asked:
    """Everyone asked from the shifter's escalation up to ``esc`` (a query a level; a
    chain is at most MAX_DEPTH long)."""
    asked = Asked()
    current: Escalation | None = esc
    while current is not None:
        if current.group_id is not None:
            asked.groups.add(current.group_id)
        asked.addresses |= {a.lower() for a in current.recipients}
        current = (
            Escalation.objects.select_related("group").filter(pk=current.parent_id).first()
            if current.parent_id
            else None
        )
    return asked


def next_level_ask(
    *,
    esc: Escalation,
    now: datetime,
    group: ExpertGroup | None = None,
    addresses: list[str] | None = None,
    label: str = "",
) -> Escalation:
    """Ask ``group`` (or the people at ``addresses``, named ``label``) about the ticket
    ``esc`` waits on in silence; their reply address and timer are their own. Runs in the
    caller's transaction (a timer step): the mail leaves after commit."""
    ticket = esc.ticket
    first = group.response_target_hours if group else settings.EXPERT_TARGET_HOURS
    child = Escalation.objects.create(
        ticket=ticket,
        group=group,
        parent=esc,
        label="" if group else label,
        addresses="" if group else "\n".join(addresses or []),
        note=esc.note,
        token=secrets.token_hex(10),
        target_hours=first,
        remind_percent=group.remind_percent if group else settings.ESCALATION_REMIND_PERCENT,
        next_level_percent=(
            group.next_level_percent if group else settings.ESCALATION_NEXT_LEVEL_PERCENT
        ),
        calendar_id=group.calendar_in_force_id if group else None,
        depth=esc.depth + 1,
        created_at=now,
    )
    child.message_id = escalation_message_id(child)
    child.outbound = mail_send(
        "next_level_ask",
        team=ticket.team,
        ticket=ticket,
        kind=OutboundKind.ESCALATION,
        to=child.recipients,
        context={
            "target": esc.target_name,
            "reference": ticket.reference,
            "subject": ticket.subject,
            "since": f"{esc.created_at:%A %d %B %H:%M}",
            "percent": esc.next_level_percent,
            "target_hours": esc.target_hours,
            "note": esc.note,
            "hours": child.target_hours,
            "calendar": calendar_label(ticket.team, child.calendar_id),
            "url": site_url(ticket),
        },
        message_id=child.message_id,
        reply_to=escalation_address(child),
    )
    child.save(update_fields=["message_id", "outbound"])
    event_record(ticket=ticket, kind=EventKind.ESCALATED, data=child.event_data(), at=now)
    percent = min(child.remind_percent, child.next_level_percent)
    timer_arm(
        ticket=ticket,
        kind=TimerKind.EXPERT_RESPONSE,
        escalation=child,
        started_at=now,
        due_at=after_working(
            ticket.team, now, child.target_hours * percent / 100, child.calendar_id
        ),
    )
    return child


def next_levels_stand_down(*, esc: Escalation, at: datetime) -> int:
    """``esc``'s group answered: every next level asked about it (and theirs in turn) that
    still waits stops waiting, its timer ends, and it is told in its own thread (a reply
    still reaches the ticket). Runs in the caller's transaction (the answer's); the mails
    leave after commit. Returns how many levels stood down."""
    ticket = esc.ticket
    answered_by = esc.target_name
    parents, done = [esc.pk], 0
    while parents:
        waiting = list(
            Escalation.objects.select_for_update(of=("self",))
            .select_related("group")
            .filter(parent_id__in=parents, state=EscalationState.WAITING)
        )
        # The ones already answered or cancelled have nothing waiting above them either.
        parents = list(
            Escalation.objects.filter(parent_id__in=parents).values_list("pk", flat=True)
        )
        for child in waiting:
            timers_cancel(ticket=ticket, escalation=child, at=at)
            escalation_end(
                child,
                ticket,
                at=at,
                reason=f"{answered_by} answered",
                template="next_level_stand_down",
                context={"answered_by": answered_by, "url": site_url(ticket)},
                note=f"Escalation to {child.target_name} ended: {answered_by} answered.",
            )
            done += 1
    return done

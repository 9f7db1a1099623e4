"""What each kind of timer does when it fires. Each function runs inside timer_step's
transaction, on a claimed row, and returns an Outcome; the mail it writes goes to the outbox
and leaves after commit."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User

from common.links import site_url
from dispatch.routing import ticket_follow_shift
from escalation.addresses import escalation_address
from escalation.businesstime import working_hours_text
from escalation.calendars import after_working, calendar_label, working_day
from escalation.models import Escalation, EscalationState, Timer, TimerKind
from escalation.nextlevel import MAX_DEPTH, asked_in_chain, next_level_ask
from escalation.timers import Outcome, outbound_later, overdue_later, step
from people.models import Membership, Role, Team
from people.names import display_name
from shifts.models import Zone
from shifts.selectors import on_duty
from tickets.mail.outbox import mail_build, mail_send
from tickets.models import Status, Ticket
from tickets.models.mail import OutboundKind, OutboundState
from tickets.services import ticket_set_status
from tickets.services.replies import requester_mail

HOUR = timedelta(hours=1)


def _owner_on_shift(ticket: Ticket, now: datetime) -> list[User]:
    """Who hears of a reminder about the ticket: its owner if on shift, else whoever is on
    shift now takes the ticket (ownership follows the shift) and hears of it; with nobody
    on shift, the owner (who keeps it until the next shift) or the coordinators."""
    ticket_follow_shift(ticket=ticket, at=now)
    return [ticket.assignee] if ticket.assignee else _coordinators(ticket, now)


def _coordinators(ticket: Ticket, at: datetime) -> list[User]:
    """The coordinator of the zone on shift (or of the ticket's zone), else the team's."""
    team = ticket.team
    duty = on_duty(team, at)
    code = duty.slot.zone if duty.slot else ticket.zone
    zone = Zone.objects.filter(team=team, code=code).select_related("coordinator").first()
    if zone is not None and zone.coordinator is not None:
        return [zone.coordinator]
    return team_coordinators(team)


def team_coordinators(team: Team) -> list[User]:
    return [
        m.user
        for m in Membership.objects.filter(team=team, role=Role.COORDINATOR).select_related("user")
    ]


def mail_people(
    ticket: Ticket, people: list[User], template: str, context: Mapping[str, object]
) -> Outcome:
    """A notification to desk people about the ticket, worded by the mail template
    ``template`` (its reference, subject and link are in the context already), through the
    outbox after commit; the Outcome says who was told."""
    addresses = tuple(p.email for p in people if p.email)
    if not addresses:
        return Outcome(told=addresses)
    mail = mail_build(
        template,
        team=ticket.team,
        ticket=ticket,
        kind=OutboundKind.NOTIFICATION,
        to=list(addresses),
        context={
            "reference": ticket.reference,
            "subject": ticket.subject,
            "url": site_url(ticket),
            **context,
        },
        automatic=True,
    )
    # Written with the chunk's other mails when the sweep runs its steps together.
    return Outcome(told=addresses, outbound=outbound_later(mail))


# --- the shifter's first answer -------------------------------------------------------------


def first_response_late(timer: Timer, now: datetime) -> Outcome:
    ticket = timer.ticket
    if ticket.first_response_at is not None or ticket.status in (Status.RESOLVED, Status.CLOSED):
        return Outcome(cancelled=True)
    overdue_later(ticket, now)
    people = _owner_on_shift(ticket, now)
    hours = settings.FIRST_RESPONSE_COVERED_HOURS
    outcome = mail_people(
        ticket,
        people,
        "desk_first_answer_late",
        {"requester": ticket.requester.email, "hours": hours},
    )
    outcome.action = f"first answer overdue after {hours} covered hours; owner told"
    return outcome


# --- expert and site answers ----------------------------------------------------------------


def _escalation_clock(esc: Escalation, now: datetime) -> datetime | None:
    """When the group's clock started: when the escalation mail left the outbox. None while
    it has not (SMTP down): silence does not count before the group could read anything."""
    if esc.outbound_id is None:
        return esc.created_at
    assert esc.outbound is not None
    return esc.outbound.sent_at


def expert_silent(timer: Timer, now: datetime) -> Outcome:
    esc = timer.escalation
    assert esc is not None
    if esc.state != EscalationState.WAITING:
        return Outcome(cancelled=True)
    if esc.outbound_id is not None:
        esc = Escalation.objects.select_related("outbound", "group__next_level").get(pk=esc.pk)
    if esc.outbound is not None and esc.outbound.state == OutboundState.FAILED:
        return _mail_failed(timer, esc, now)
    started = _escalation_clock(esc, now)
    if started is None:
        return Outcome(postpone_to=now + timedelta(seconds=settings.TIMER_UNSENT_RECHECK_S))
    team = timer.ticket.team
    percent = esc.remind_percent if timer.step == 0 else esc.next_level_percent
    due = after_working(team, started, esc.target_hours * percent / 100, esc.calendar_id)
    if due > now:
        return Outcome(postpone_to=due)  # the mail left late: the clock starts then
    if timer.step == 0 and esc.remind_percent < esc.next_level_percent:
        outcome = _remind_group(esc, now)
        outcome.next_due = after_working(
            team, started, esc.target_hours * esc.next_level_percent / 100, esc.calendar_id
        )
        return outcome
    return _next_level(esc, now)


def _mail_failed(timer: Timer, esc: Escalation, now: datetime) -> Outcome:
    """The outbox gave up on the escalation mail: the group never heard of it, so its
    silence means nothing. The owner (or the coordinators) hear of it once; the timer ends."""
    ticket = timer.ticket
    assert esc.outbound is not None
    people = _owner_on_shift(ticket, now)
    outcome = mail_people(
        ticket,
        people,
        "desk_escalation_failed",
        {
            "target": esc.target_name,
            "error": esc.outbound.last_error or "the outbox gave up",
        },
    )
    outcome.action = f"escalation mail to {esc.target_name} failed; owner told"
    return outcome


def _remind_group(esc: Escalation, now: datetime) -> Outcome:
    ticket, group = esc.ticket, esc.group
    if not esc.recipients:  # waiting on another tracker: remind the owner to look at it
        link = esc.external_ref.url if esc.external_ref else ""
        people = _owner_on_shift(ticket, now)
        outcome = mail_people(
            ticket,
            people,
            "desk_still_waiting",
            {
                "target": esc.target_name,
                "link": link,
                "since": f"{esc.created_at:%d %b %H:%M}",
            },
        )
        outcome.action = f"reminded the owner about {esc.target_name}"
        return outcome

    outbound = mail_send(
        "escalation_reminder",
        team=ticket.team,
        ticket=ticket,
        kind=OutboundKind.ESCALATION,
        to=esc.recipients,
        context={
            "group": group.name if group else "",
            "team": ticket.team.name,
            "reference": ticket.reference,
            "subject": ticket.subject,
            "asked_on": f"{esc.created_at:%A %d %B}",
            "target": working_hours_text(esc.target_hours),
            "calendar": calendar_label(ticket.team, esc.calendar_id),
            "note": esc.note,
        },
        in_reply_to=esc.message_id,
        references=esc.message_id,
        reply_to=escalation_address(esc),
        automatic=True,
    )
    return Outcome(
        action=f"reminded {esc.target_name} ({esc.remind_percent}% of target)",
        told=tuple(esc.recipients),
        outbound_id=outbound.pk,
    )


def _next_level(esc: Escalation, now: datetime) -> Outcome:
    """The group stayed silent to its next-level point: the next level is asked by an
    escalation of its own (escalation.nextlevel), with a reply address and a timer; the
    ticket is overdue for the shifters, and its owner is told."""
    ticket, group = esc.ticket, esc.group
    # A shifter's escalation without a group goes to the zone's coordinator; a next level
    # of coordinators, to the team's.
    kind = group.next_level_kind if group else ("zone" if esc.parent_id is None else "team")
    next_group, people = None, []
    if group is not None and kind == "group" and group.next_level is not None:
        next_group = group.next_level
    elif kind != "none":
        people = team_coordinators(ticket.team) if kind == "team" else _coordinators(ticket, now)
    asked = asked_in_chain(esc) if esc.depth < MAX_DEPTH else None
    child = None
    if asked is None:
        label = "nobody further (the last level)"
    elif next_group is not None and next_group.pk not in asked.groups and next_group.email:
        child = next_level_ask(esc=esc, now=now, group=next_group)
        label = next_group.name
    else:
        fresh = [p for p in people if p.email and p.email.lower() not in asked.addresses]
        names = ", ".join(display_name(p) for p in fresh)
        if fresh:
            child = next_level_ask(
                esc=esc,
                now=now,
                addresses=[p.email for p in fresh],
                label=f"Coordinators ({names})"[:200],
            )
            label = names
        elif kind == "none":
            label = "nobody (policy)"
        else:
            label = "nobody new (all were asked)"
    Escalation.objects.filter(pk=esc.pk).update(level=1)
    # Past the next level the ticket is overdue for the shifters too, until they answer.
    overdue_later(ticket, now)
    told = list(child.recipients) if child else []
    _owner_on_shift(ticket, now)
    if ticket.assignee and ticket.assignee.email:
        mail_people(
            ticket,
            [ticket.assignee],
            "desk_group_silent",
            {"target": esc.target_name, "label": label, "told": child is not None},
        )
        told.append(ticket.assignee.email)
    return Outcome(
        action=f"escalated to {label} ({esc.next_level_percent}% of target); owner told",
        told=tuple(told),
        outbound_id=child.outbound_id if child else None,
    )


# --- waiting on the user --------------------------------------------------------------------


def waiting_user_due(team: Team, started: datetime, step_no: int) -> datetime:
    days = [*settings.WAITING_USER_REMIND_DAYS, settings.WAITING_USER_RESOLVE_DAYS]
    day = working_day(team)  # the requester is waited on in the team's working days
    return after_working(team, started, days[step_no] * day / HOUR)


def waiting_user(timer: Timer, now: datetime) -> Outcome:
    ticket = timer.ticket
    if ticket.status != Status.WAITING_ON_USER:
        return Outcome(cancelled=True)
    reminders = settings.WAITING_USER_REMIND_DAYS
    days = [*reminders, settings.WAITING_USER_RESOLVE_DAYS][timer.step]
    name, team = display_name(ticket.requester), ticket.team.name
    if timer.step < len(reminders):
        outbound = requester_mail(
            "requester_waiting_reminder",
            ticket=ticket,
            context={"name": name, "reference": ticket.reference, "days": days, "team": team},
        )
        return Outcome(
            action=f"reminded the requester after {days} working days",
            told=(ticket.requester.email,),
            outbound_id=outbound.pk,
            next_due=waiting_user_due(ticket.team, timer.started_at, timer.step + 1),
        )
    ticket_set_status(ticket=ticket, status=Status.RESOLVED, at=now)
    outbound = requester_mail(
        "requester_resolved_silence",
        ticket=ticket,
        context={"name": name, "reference": ticket.reference, "days": days, "team": team},
    )
    return Outcome(
        action=f"resolved after {days} working days without an answer; requester told",
        told=(ticket.requester.email,),
        outbound_id=outbound.pk,
    )


def register() -> None:
    """What each kind of timer does: called once by EscalationConfig.ready()."""
    step(TimerKind.FIRST_RESPONSE)(first_response_late)
    step(TimerKind.EXPERT_RESPONSE)(expert_silent)
    step(TimerKind.WAITING_USER)(waiting_user)

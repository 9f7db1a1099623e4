"""Shift handover: when a slot ends, the leaving shifters' tickets that still await a
shifter's answer pass to the incoming shifters, and each of them gets one mail listing theirs.

    handover_run(at)          every slot that ended in the last LOOKBACK and has no
                              Handover row yet, oldest end first
    slot_hand_over(zone, …)   one slot, in one transaction

The Handover row is written first and is the claim: its unique (zone, day) makes a second
beat process or worker fail on the INSERT (PostgreSQL makes it wait for the first one's
commit) and do nothing. The mails are written in the same transaction; the outbox sends them
after commit. With nobody incoming (after the last zone of the day), the tickets wait
unassigned and flagged after-hours, and ``route_waiting`` gives them to the next shift.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from common.links import site_url
from dispatch.models import Handover
from dispatch.routing import open_loads, slot_shadow
from people.models import Team
from people.names import display_name
from shifts.models import Booking, Closure, ShiftRole, Zone
from shifts.rota import Slot, slots_in
from shifts.selectors import on_duty, zone_hours
from tickets.mail.outbox import mail_send, team_sending_address
from tickets.models import EventKind, Message, Status, Ticket
from tickets.models.mail import OutboundKind
from tickets.services import tickets_reassign

log = logging.getLogger(__name__)

# How far back a missed handover is still made (beat down, a deploy). Older ones are not:
# by then the tickets have been worked on, and a late mail would only confuse.
LOOKBACK = timedelta(hours=12)
# ticket_reply moves NEW and OPEN to WAITING_ON_USER: only these still owe the requester an
# answer from a shifter. Tickets waiting on the user or an expert stay with the owner who
# knows them.
AWAITING_SHIFTER = (Status.NEW, Status.OPEN)


@dataclass(frozen=True)
class Due:
    zone: Zone
    slot: Slot


def due_slots(at: datetime) -> list[Due]:
    """Slots of every team that ended in (at - LOOKBACK, at] and are not handed over yet,
    oldest end first. Three queries: zones, closures, handovers."""
    zones = list(Zone.objects.select_related("team"))
    if not zones:
        return []
    # Slots last at most a day: one that ended within LOOKBACK began at most two local
    # dates before today, in any time zone. Closures and handovers are read with a day to
    # spare on each side, so that the time zone of ``at`` does not matter.
    first, last = (at - LOOKBACK).date() - timedelta(days=3), at.date() + timedelta(days=1)
    closures: dict[int, list[tuple[date, date]]] = defaultdict(list)
    for team_id, starts_on, ends_on in Closure.objects.filter(
        team__in={z.team_id for z in zones}, starts_on__lte=last, ends_on__gte=first
    ).values_list("team_id", "starts_on", "ends_on"):
        closures[team_id].append((starts_on, ends_on))
    done = set(
        Handover.objects.filter(zone__in=zones, day__gte=first).values_list("zone_id", "day")
    )
    due = []
    for zone in zones:
        tz = ZoneInfo(zone.team.time_zone)
        today = at.astimezone(tz).date()
        for slot in slots_in(
            zone_hours(zone), today - timedelta(days=2), today, tz, closures[zone.team_id]
        ):
            if at - LOOKBACK < slot.ends_at <= at and (zone.pk, slot.day) not in done:
                due.append(Due(zone, slot))
    return sorted(due, key=lambda d: (d.slot.ends_at, d.zone.pk))


def handover_run(*, at: datetime | None = None) -> int:
    """Hand over every slot that has ended and was not handed over yet. Oldest first, so
    that tickets handed to a shift that has ended meanwhile move on again. Returns how many
    tickets changed hands (to a shifter or to the after-hours queue)."""
    at = at or timezone.now()
    return sum(slot_hand_over(zone=due.zone, slot=due.slot, at=at) for due in due_slots(at))


def slot_hand_over(*, zone: Zone, slot: Slot, at: datetime) -> int:
    """Claim the slot's handover and make it, in one transaction; 0 when someone else has
    claimed it. Returns how many tickets changed hands."""
    claimed = False
    try:
        with transaction.atomic():
            handover = Handover.objects.create(zone=zone, day=slot.day, done_at=at)
            claimed = True
            handover.tickets_moved = _move(zone, slot, at)
            if handover.tickets_moved:
                handover.save(update_fields=["tickets_moved"])
    except IntegrityError:
        if claimed:  # not the claim: a real error
            raise
        log.info("handover of %s %s: already made", zone, slot.day)
        return 0
    log.info("handover of %s %s: %d tickets moved", zone, slot.day, handover.tickets_moved)
    return handover.tickets_moved


def _move(zone: Zone, slot: Slot, at: datetime) -> int:
    team = zone.team
    leaving = set(
        Booking.objects.filter(zone=zone, day=slot.day, role=ShiftRole.FIRST_LEVEL)
        .order_by()  # the model's ordering would join the zone and the team for nothing
        .values_list("person_id", flat=True)
    )
    if not leaving:
        return 0
    # Who is on shift the instant this slot ends: the next zone's slot, or nobody.
    incoming = on_duty(team, slot.ends_at)
    takers = [b.person for b in incoming.first_level]
    # A shifter on the next slot too keeps their tickets.
    tickets = _awaiting(team, leaving - {p.pk for p in takers})
    if not tickets:
        return 0
    if incoming.slot is None or not takers:
        tickets_reassign(
            tickets=tickets, assignee=None, kind=EventKind.HANDED_OVER, reason="handover"
        )
        return len(tickets)
    note = _Note(zone, slot, slot_shadow(incoming), _last_messages(tickets), at)
    sender = team_sending_address(team)
    for person, theirs in _share(tickets, takers).items():
        leavers = {t.pk: t.assignee for t in theirs}  # before the UPDATE changes them
        tickets_reassign(
            tickets=theirs,
            assignee=person,
            shadow=note.shadow,
            zone=incoming.slot.zone,
            kind=EventKind.HANDED_OVER,
            reason="handover",
        )
        if person.email:
            _mail(note, person, theirs, leavers, sender)
    return len(tickets)


def _awaiting(team: Team, owners: set[int]) -> list[Ticket]:
    """The owners' tickets that await a shifter, oldest first, locked until commit so that
    a reply or a hand-over by hand waits for the handover, not the other way round."""
    if not owners:
        return []
    return list(
        Ticket.objects.select_for_update(of=("self",))
        .filter(team=team, assignee_id__in=owners, status__in=AWAITING_SHIFTER)
        .select_related("team", "assignee")
        .order_by("created_at", "pk")
    )


def _share(tickets: list[Ticket], takers: list[User]) -> dict[User, list[Ticket]]:
    """Each ticket to whoever of ``takers`` has the fewest open tickets at that point."""
    loads = open_loads(takers)
    shares: dict[User, list[Ticket]] = {}
    for ticket in tickets:
        person = min(takers, key=lambda p: (loads.get(p.pk, 0), p.pk))
        loads[person.pk] = loads.get(person.pk, 0) + 1
        shares.setdefault(person, []).append(ticket)
    return shares


def _last_messages(tickets: list[Ticket]) -> dict[int, Message]:
    """Each ticket's latest message (by ticket pk), with its author. One query."""
    latest = Message.objects.filter(ticket=OuterRef("ticket")).order_by("-created_at", "-pk")
    messages = Message.objects.filter(
        ticket__in=[t.pk for t in tickets], pk=Subquery(latest.values("pk")[:1])
    ).select_related("author")
    return {m.ticket_id: m for m in messages}


def _age(delta: timedelta) -> str:
    minutes = max(int(delta.total_seconds() // 60), 0)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def _last_action(message: Message | None, tz: ZoneInfo) -> str:
    if message is None:
        return "no messages"
    who = (
        message.sender_name
        or (display_name(message.author) if message.author else "")
        or message.sender_email
        or "unknown"
    )
    kind = message.get_kind_display().lower()
    return f"{kind} from {who}, {message.created_at.astimezone(tz):%a %d %b %H:%M}"


@dataclass(frozen=True)
class _Note:
    """What every handover mail of one slot shares."""

    zone: Zone
    slot: Slot
    shadow: User | None
    last: dict[int, Message]  # each ticket's latest message, by ticket pk
    at: datetime


def _mail(
    note: _Note, person: User, tickets: list[Ticket], leavers: dict[int, User | None], sender: str
) -> None:
    team = note.zone.team
    tz = ZoneInfo(team.time_zone)
    rows = [
        {
            "reference": ticket.reference,
            "subject": ticket.subject,
            "age": _age(note.at - ticket.created_at),
            "holder": display_name(leaver) if (leaver := leavers.get(ticket.pk)) else "",
            "last": _last_action(note.last.get(ticket.pk), tz),
            "url": site_url(ticket),
        }
        for ticket in tickets
    ]
    mail_send(
        "handover",
        team=team,
        kind=OutboundKind.NOTIFICATION,
        to=[person.email],
        context={
            "name": display_name(person),
            "team": team.name,
            "count": len(tickets),
            "code": note.zone.code,
            "shift_day": f"{note.slot.starts_at.astimezone(tz):%A %d %B}",
            "time_zone": team.time_zone,
            "shadow": display_name(note.shadow) if note.shadow else "",
            "tickets": rows,
        },
        automatic=True,
        sender=sender,
    )

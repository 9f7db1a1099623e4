"""Routing: a new ticket goes to the first-level shifter on shift in the covering zone.

With several on shift, the one with the fewest open tickets takes it; the trainee booked on
the slot shadows. Outside covered hours (or on a slot nobody booked) the ticket waits,
flagged after-hours, and the beat task gives it to the next shift. A ticket that already
has an owner keeps it.

Ownership follows the shift: whatever needs a shifter (a reopening, a requester's reply,
an expert's answer, a reminder) finds the ticket's owner if they are on shift now (first
level), else ``ticket_follow_shift`` gives the ticket to whoever is on shift, recording who
had it. With nobody on shift the owner keeps it, flagged after-hours, and ``route_waiting``
hands it to the next shift as it starts: the ticket is always in somebody's "Mine", and an
owner who is back on shift keeps what they know.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.db.models import Count, Q
from django.utils import timezone

from shifts.selectors import OnDuty, next_shift_start, on_duty
from tickets.models import OPEN_STATUSES, Ticket
from tickets.services import (
    ticket_assign,
    ticket_mark_after_hours,
    tickets_mark_after_hours,
    tickets_reassign,
)


@dataclass(frozen=True)
class Route:
    ticket: Ticket
    assignee: User | None
    duty: OnDuty

    @property
    def routed(self) -> bool:
        return self.assignee is not None


def open_loads(people: Sequence[User]) -> dict[int, int]:
    """Open tickets per person (by pk); people with none are missing. One query."""
    return dict(
        User.objects.filter(pk__in=[p.pk for p in people])
        .annotate(
            open=Count("assigned_tickets", filter=Q(assigned_tickets__status__in=OPEN_STATUSES))
        )
        .values_list("pk", "open")
    )


def _least_loaded(candidates: list[User]) -> User:
    loads = open_loads(candidates)
    return min(candidates, key=lambda user: (loads.get(user.pk, 0), user.pk))


def slot_shadow(duty: OnDuty) -> User | None:
    """The trainee who shadows the slot's tickets (the first booked, if several)."""
    return duty.trainees[0].person if duty.trainees else None


def _route_by(duty: OnDuty, ticket: Ticket, *, take: bool, reason: str = "routing") -> Route:
    """Give the ticket to the least loaded first-level shifter of ``duty``; with nobody on
    shift it waits flagged after-hours (an owner keeps it meanwhile). ``take``: also from
    an owner."""
    first_level = [b.person for b in duty.first_level]
    if duty.slot is None or not first_level:
        ticket_mark_after_hours(ticket=ticket, owned=take)
        return Route(ticket, None, duty)
    assignee = _least_loaded(first_level)
    assigned = ticket_assign(
        ticket=ticket,
        assignee=assignee,
        shadow=slot_shadow(duty),
        zone=duty.slot.zone,
        only_if_unassigned=not take,
        reason=reason,
    )
    if not assigned:  # someone took it meanwhile: theirs it stays
        ticket.refresh_from_db(fields=["assignee", "shadow", "zone", "after_hours"])
    return Route(ticket, ticket.assignee, duty)


def ticket_route(*, ticket: Ticket, at: datetime | None = None) -> Route:
    """Assign the ticket by the shift calendar at ``at`` (default now). Seven queries, two of
    them recording the assignment (its event and the event's deliveries)."""
    if ticket.assignee_id is not None:
        return Route(ticket, ticket.assignee, OnDuty(None))
    return _route_by(on_duty(ticket.team, at or timezone.now()), ticket, take=False)


def tickets_route(*, tickets: Sequence[Ticket], at: datetime | None = None) -> list[Route]:
    """``ticket_route`` for a batch whose rows the caller holds locked (the routing
    consumer's): the calendar and the loads read once per team, one UPDATE per shifter
    and one for the tickets that wait, the assignments recorded together. Balanced as if
    routed one after the other."""
    at = at or timezone.now()
    routes: dict[int, Route] = {}
    waiting: dict[int, list[Ticket]] = {}
    for ticket in tickets:
        if ticket.assignee_id is not None:
            routes[ticket.pk] = Route(ticket, ticket.assignee, OnDuty(None))
        else:
            waiting.setdefault(ticket.team_id, []).append(ticket)
    for group in waiting.values():
        duty = on_duty(group[0].team, at)
        first_level = {b.person.pk: b.person for b in duty.first_level}
        if duty.slot is None or not first_level:
            tickets_mark_after_hours(tickets=group)
            routes.update((t.pk, Route(t, None, duty)) for t in group)
            continue
        loads = open_loads(list(first_level.values()))
        shares: dict[int, list[Ticket]] = {}
        for ticket in group:
            pk = min(first_level, key=lambda p: (loads.get(p, 0), p))
            loads[pk] = loads.get(pk, 0) + 1
            shares.setdefault(pk, []).append(ticket)
        for pk, share in shares.items():
            tickets_reassign(
                tickets=share,
                assignee=first_level[pk],
                shadow=slot_shadow(duty),
                zone=duty.slot.zone,
                reason="routing",
            )
            routes.update((t.pk, Route(t, t.assignee, duty)) for t in share)
    return [routes[t.pk] for t in tickets]


def ticket_reroute(*, ticket: Ticket, at: datetime | None = None, reason: str = "reroute") -> Route:
    """Route a ticket that needs a shifter at ``at`` (default now): its owner keeps it if
    booked first level on the slot covering ``at``; else the on-duty shifter takes it, or,
    with nobody on shift, it waits flagged after-hours for the next shift (with its owner,
    if it has one). At most seven queries."""
    duty = on_duty(ticket.team, at or timezone.now())
    on_shift = {b.person_id for b in duty.first_level}
    if ticket.assignee_id is not None and ticket.assignee_id in on_shift:
        if ticket.after_hours:  # kept overnight by its owner, who is back on shift
            ticket_mark_after_hours(ticket=ticket, owned=True, flag=False)
        return Route(ticket, ticket.assignee, duty)
    return _route_by(duty, ticket, take=True, reason=reason)


def ticket_follow_shift(*, ticket: Ticket, at: datetime | None = None) -> Route | None:
    """Something arrived that needs a shifter (an answer, a reply, a reminder): an open
    ticket whose owner is off shift passes to whoever is on shift now; the assignment
    event keeps who had it. None when nothing needed doing (no owner: the ticket is in
    the team's "New" view or waits for the next shift already; or it is closed)."""
    if ticket.assignee_id is None or ticket.status not in OPEN_STATUSES:
        return None
    return ticket_reroute(ticket=ticket, at=at, reason="off shift")


def when_text(route: Route) -> str:
    """What the acknowledgement says about when a shifter will look."""
    if route.routed:
        return "A shifter is on duty now and will look at it shortly."
    team = route.ticket.team
    start = next_shift_start(team, timezone.now())
    if start is None:
        return "A shifter will look at it as soon as the support team is back."
    local = start.starts_at.astimezone(ZoneInfo(team.time_zone))
    return (
        "It arrived outside the support team's shift hours. A shifter will look at it when "
        f"the next shift starts, {local:%A %d %B at %H:%M} ({team.time_zone} time)."
    )


def route_waiting(*, at: datetime | None = None, limit: int = 500) -> int:
    """Give after-hours tickets to whoever is now on shift: unassigned ones as if new, and
    those an off-shift owner kept overnight unless that owner is on shift again. Returns
    how many found a shifter."""
    waiting = (
        Ticket.objects.filter(after_hours=True, status__in=OPEN_STATUSES)
        .select_related("team", "assignee")
        .order_by("created_at")[:limit]
    )
    routed = 0
    for ticket in waiting:
        if ticket.assignee_id is None:
            ticket_route(ticket=ticket, at=at)
        else:
            ticket_reroute(ticket=ticket, at=at, reason="off shift")
        routed += not ticket.after_hours
    return routed

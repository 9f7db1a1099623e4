"""Routing: a new ticket goes to the first-level shifter on shift in the covering zone.

With several on shift, the one with the fewest open tickets takes it; the trainee booked on
the slot shadows. Outside covered hours (or on a slot nobody booked) the ticket waits,
flagged after-hours, and the beat task gives it to the next shift. A ticket that already
has an owner keeps it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.db.models import Count, Q
from django.utils import timezone

from shifts.selectors import OnDuty, next_shift_start, on_duty
from tickets.models import OPEN_STATUSES, Ticket
from tickets.services import ticket_assign, ticket_mark_after_hours


@dataclass(frozen=True)
class Route:
    ticket: Ticket
    assignee: User | None
    duty: OnDuty

    @property
    def routed(self) -> bool:
        return self.assignee is not None


def _least_loaded(candidates: list[User]) -> User:
    loads = dict(
        User.objects.filter(pk__in=[c.pk for c in candidates])
        .annotate(
            open=Count("assigned_tickets", filter=Q(assigned_tickets__status__in=OPEN_STATUSES))
        )
        .values_list("pk", "open")
    )
    return min(candidates, key=lambda user: (loads.get(user.pk, 0), user.pk))


def ticket_route(*, ticket: Ticket, at: datetime | None = None) -> Route:
    """Assign the ticket by the shift calendar at ``at`` (default now). Five queries."""
    if ticket.assignee_id is not None:
        return Route(ticket, ticket.assignee, OnDuty(None))
    duty = on_duty(ticket.team, at or timezone.now())
    first_level = [b.person for b in duty.first_level]
    if duty.slot is None or not first_level:
        ticket_mark_after_hours(ticket=ticket)
        return Route(ticket, None, duty)
    assignee = _least_loaded(first_level)
    shadow = duty.trainees[0].person if duty.trainees else None
    if not ticket_assign(ticket=ticket, assignee=assignee, shadow=shadow, zone=duty.slot.zone):
        ticket.refresh_from_db(fields=["assignee", "shadow", "zone", "after_hours"])
    return Route(ticket, ticket.assignee, duty)


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
    """Give after-hours tickets to whoever is now on shift. Returns how many were assigned."""
    waiting = (
        Ticket.objects.filter(after_hours=True, assignee__isnull=True, status__in=OPEN_STATUSES)
        .select_related("team")
        .order_by("created_at")[:limit]
    )
    return sum(1 for ticket in waiting if ticket_route(ticket=ticket, at=at).routed)

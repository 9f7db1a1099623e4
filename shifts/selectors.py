"""Reads on the shift calendar. ``on_duty`` is the one answer to "who is on shift now"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from shifts.models import Booking, Closure, ShiftRole, Zone
from shifts.rota import Slot, ZoneHours, covering_slot, next_slot
from tickets.models import Team


@dataclass(frozen=True)
class OnDuty:
    slot: Slot | None  # None: outside covered hours
    bookings: tuple[Booking, ...] = ()

    @property
    def first_level(self) -> list[Booking]:
        return [b for b in self.bookings if b.role == ShiftRole.FIRST_LEVEL]

    @property
    def trainees(self) -> list[Booking]:
        return [b for b in self.bookings if b.role == ShiftRole.TRAINEE]


def zone_hours(zone: Zone) -> ZoneHours:
    return ZoneHours(
        zone.code,
        zone.starts_at,
        timedelta(minutes=zone.duration_minutes),
        frozenset(int(d) for d in zone.weekdays),
    )


def _calendar(team: Team, around: datetime) -> tuple[list[Zone], list[tuple]]:
    zones = list(Zone.objects.filter(team=team))
    day = around.date()
    closures = list(
        Closure.objects.filter(
            team=team, starts_on__lte=day + timedelta(days=62), ends_on__gte=day - timedelta(days=1)
        ).values_list("starts_on", "ends_on")
    )
    return zones, closures


def on_duty(team: Team, at: datetime) -> OnDuty:
    """The covering slot at ``at`` and who is booked on it. Three queries, whatever the size
    of the calendar: zones, closures, the slot's bookings."""
    zones, closures = _calendar(team, at)
    slot = covering_slot([zone_hours(z) for z in zones], at, ZoneInfo(team.time_zone), closures)
    if slot is None:
        return OnDuty(None)
    bookings = tuple(
        Booking.objects.filter(zone__team=team, zone__code=slot.zone, day=slot.day)
        .select_related("person", "zone")
        .order_by("role", "pk")
    )
    return OnDuty(slot, bookings)


def next_shift_start(team: Team, after: datetime) -> Slot | None:
    """The next slot to start (covered or not: booking is the coordinators' business)."""
    zones, closures = _calendar(team, after)
    return next_slot([zone_hours(z) for z in zones], after, ZoneInfo(team.time_zone), closures)

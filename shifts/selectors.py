"""Reads on the shift calendar. ``on_duty`` is the one answer to "who is on shift now"."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import QuerySet

from common.memo import scoped
from people.models import Membership, Role, Team
from shifts.models import Booking, Closure, RotationRule, ShiftRole, ShiftSettings, Zone
from shifts.rota import Slot, ZoneHours, covering_slot, is_closed, next_slot, slot_on, slots_in


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
    of the calendar: zones, closures, the slot's bookings; none again for the same team and
    instant within a ``common.memo.memo_scope`` (a timer sweep)."""
    return scoped(("on_duty", team.pk, at), lambda: _on_duty(team, at))


def _on_duty(team: Team, at: datetime) -> OnDuty:
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


# --- people -----------------------------------------------------------------------------------


def team_roles(team: Team, person: User) -> set[str]:
    return set(Membership.objects.filter(team=team, user=person).values_list("role", flat=True))


def shifters(team: Team) -> dict[str, list[User]]:
    """Who may be booked, by booking role, sorted by name."""
    wanted = {Role.SHIFTER: ShiftRole.FIRST_LEVEL, Role.TRAINEE: ShiftRole.TRAINEE}
    out: dict[str, list[User]] = {role: [] for role in ShiftRole.values}
    rows = (
        Membership.objects.filter(team=team, role__in=list(wanted))
        .select_related("user")
        .order_by("user__first_name", "user__username")
    )
    for row in rows:
        out[wanted[Role(row.role)]].append(row.user)
    return out


# --- the month grid -------------------------------------------------------------------------


@dataclass
class Cell:
    zone: Zone
    day: date
    slot: Slot | None  # None: the zone has no shift that weekday
    closed: str = ""  # the closure's reason
    bookings: list[Booking] = field(default_factory=list)
    credit: int = 0
    # For one viewer (mark_cells): has the slot started, their booking on it, may they
    # release it themselves, may they book it.
    past: bool = False
    mine: Booking | None = None
    release_ok: bool = False
    can_book: bool = False
    today: bool = False

    @property
    def iso(self) -> str:
        return self.day.isoformat()

    @property
    def scheduled(self) -> bool:
        return self.slot is not None and not self.closed

    @property
    def uncovered(self) -> bool:
        return self.scheduled and not any(b.role == ShiftRole.FIRST_LEVEL for b in self.bookings)


@dataclass
class ZoneMonth:
    zone: Zone
    weeks: list[list[Cell | None]]  # Monday first; None outside the month

    @property
    def uncovered(self) -> int:
        return sum(1 for week in self.weeks for c in week if c is not None and c.uncovered)


def credit_weight(role: str) -> int:
    return int(settings.SHIFT_CREDIT_WEIGHTS[role])


def month_grid(team: Team, year: int, month: int) -> list[ZoneMonth]:
    """Every zone's slots in the month with their bookings. Three queries: zones, closures,
    the month's bookings (with their people)."""
    first = date(year, month, 1)
    last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    tz = ZoneInfo(team.time_zone)
    zones = list(Zone.objects.filter(team=team).select_related("coordinator"))
    for zone in zones:
        zone.team = team  # cached: no query per zone later
    closures = list(
        Closure.objects.filter(team=team, starts_on__lte=last, ends_on__gte=first).values_list(
            "starts_on", "ends_on", "reason"
        )
    )
    booked: dict[tuple[int, date], list[Booking]] = defaultdict(list)
    for booking in (
        Booking.objects.filter(zone__team=team, day__gte=first, day__lte=last)
        .select_related("person")
        .order_by("role", "person__first_name", "pk")
    ):
        booked[booking.zone_id, booking.day].append(booking)
    out = []
    for zone in zones:
        hours = zone_hours(zone)
        cells: list[Cell | None] = [None] * first.weekday()
        for n in range(last.day):
            day = first + timedelta(days=n)
            slot = slot_on(hours, day, tz) if day.isoweekday() in hours.weekdays else None
            reason = next((r for a, b, r in closures if a <= day <= b), "")
            bookings = booked.get((zone.pk, day), [])
            # Nothing earns credit on a closed day (as in credit_totals).
            credit = 0 if reason else sum(credit_weight(b.role) for b in bookings)
            cells.append(Cell(zone, day, slot, reason, bookings, credit))
        cells += [None] * (-len(cells) % 7)
        out.append(ZoneMonth(zone, [cells[i : i + 7] for i in range(0, len(cells), 7)]))
    return out


def mark_cells(grid: list[ZoneMonth], viewer: User, at: datetime, coordinator: bool) -> None:
    """Fill in what the viewer may do on each cell (the rules the services enforce)."""
    notice = timedelta(hours=settings.SHIFT_RELEASE_NOTICE_HOURS)
    for zone_month in grid:
        today = at.astimezone(ZoneInfo(zone_month.zone.team.time_zone)).date()
        for week in zone_month.weeks:
            for cell in week:
                if cell is None:
                    continue
                cell.today = cell.day == today
                if cell.slot is None:
                    continue
                cell.past = cell.slot.starts_at <= at
                cell.mine = next((b for b in cell.bookings if b.person_id == viewer.pk), None)
                cell.release_ok = cell.mine is not None and (
                    coordinator or cell.slot.starts_at - at >= notice
                )
                cell.can_book = cell.scheduled and not cell.past and cell.mine is None


def uncovered_slots(zone: Zone, first: date, last: date) -> list[Slot]:
    """The zone's scheduled slots first..last with no first-level shifter. Two queries."""
    closures = list(
        Closure.objects.filter(team=zone.team, starts_on__lte=last, ends_on__gte=first).values_list(
            "starts_on", "ends_on"
        )
    )
    covered = set(
        Booking.objects.filter(
            zone=zone, day__gte=first, day__lte=last, role=ShiftRole.FIRST_LEVEL
        ).values_list("day", flat=True)
    )
    slots = slots_in(zone_hours(zone), first, last, ZoneInfo(zone.team.time_zone), closures)
    return [s for s in slots if s.day not in covered]


# --- credits --------------------------------------------------------------------------------


@dataclass
class CreditRow:
    person: User
    first_level: int = 0
    trainee: int = 0
    credit: int = 0  # percent: 100 = one full shift

    @property
    def slots(self) -> int:
        return self.first_level + self.trainee

    @property
    def shifts(self) -> float:
        return self.credit / 100


def credit_totals(team: Team, first: date, last: date, at: datetime) -> list[CreditRow]:
    """Slots worked per person in first..last by role and their credit. Only slots that have
    ended by ``at`` count, and none on a closed day. Three queries."""
    tz = ZoneInfo(team.time_zone)
    last = min(last, at.astimezone(tz).date())
    closures = list(
        Closure.objects.filter(team=team, starts_on__lte=last, ends_on__gte=first).values_list(
            "starts_on", "ends_on"
        )
    )
    hours = {z.pk: zone_hours(z) for z in Zone.objects.filter(team=team)}
    rows: dict[int, CreditRow] = {}
    bookings = Booking.objects.filter(
        zone__team=team, day__gte=first, day__lte=last
    ).select_related("person")
    for booking in bookings:
        if is_closed(booking.day, closures):
            continue
        if slot_on(hours[booking.zone_id], booking.day, tz).ends_at > at:
            continue
        row = rows.setdefault(booking.person_id, CreditRow(booking.person))
        if booking.role == ShiftRole.FIRST_LEVEL:
            row.first_level += 1
        else:
            row.trainee += 1
        row.credit += credit_weight(booking.role)
    return sorted(rows.values(), key=lambda r: (-r.credit, r.person.username))


def bookings_filtered(
    team: Team,
    *,
    first: date | None = None,
    last: date | None = None,
    person_id: int | None = None,
    zone_id: int | None = None,
) -> QuerySet[Booking]:
    """The team's bookings, filtered, in calendar order, with zone and person."""
    bookings = Booking.objects.filter(zone__team=team)
    if first is not None:
        bookings = bookings.filter(day__gte=first)
    if last is not None:
        bookings = bookings.filter(day__lte=last)
    if person_id is not None:
        bookings = bookings.filter(person_id=person_id)
    if zone_id is not None:
        bookings = bookings.filter(zone_id=zone_id)
    return bookings.select_related("zone", "person").order_by("day", "zone__starts_at", "pk")


def bookings_for_feed(
    *, person: User | None = None, zone: Zone | None = None, around: date
) -> list[Booking]:
    """Bookings a feed lists: from 90 days back to a year ahead."""
    bookings = Booking.objects.filter(
        day__gte=around - timedelta(days=90), day__lte=around + timedelta(days=366)
    ).select_related("zone__team", "person")
    if person is not None:
        bookings = bookings.filter(person=person)
    if zone is not None:
        bookings = bookings.filter(zone=zone)
    return list(bookings.order_by("day", "zone__starts_at", "pk"))


# --- coordination -----------------------------------------------------------------------------


def shift_settings(team: Team) -> ShiftSettings:
    """The team's calendar settings; the defaults (unsaved) when it has none."""
    return ShiftSettings.objects.filter(team=team).first() or ShiftSettings(team=team)


def coordinators_of(team: Team, zones: list[Zone]) -> list[User]:
    """Who hears of a swap on these zones: their coordinators, or, for zones without one,
    every coordinator of the team."""
    people = {z.coordinator_id: z.coordinator for z in zones if z.coordinator is not None}
    if not zones or any(z.coordinator is None for z in zones):
        for row in Membership.objects.filter(team=team, role=Role.COORDINATOR).select_related(
            "user"
        ):
            people.setdefault(row.user_id, row.user)
    return sorted(people.values(), key=lambda u: u.username)


def rotation_rules(team: Team) -> list[RotationRule]:
    return list(
        RotationRule.objects.filter(zone__team=team)
        .select_related("zone", "person")
        .order_by("zone__starts_at", "person__first_name", "person__username")
    )

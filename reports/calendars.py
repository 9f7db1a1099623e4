"""A team's calendars over a span of days, read once: the covered hours (every zone's
slots, closures excepted), the working hours (expert targets), and which zone covers an
instant. Two queries (zones, closures); the arithmetic is escalation.businesstime's and
shifts.rota's."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from escalation.businesstime import (
    Calendar,
    WorkingHours,
    business_time_between,
    intervals_calendar,
)
from escalation.calendars import hours_of
from people.models import Team, WorkingCalendar
from shifts.models import Closure, Zone
from shifts.rota import Slot, ZoneHours, covering_slot, next_slot, slots_in
from shifts.selectors import zone_hours


@dataclass
class TeamCalendar:
    tz: ZoneInfo
    zones: list[ZoneHours]
    closures: list[tuple[date, date]]
    slots: list[Slot]
    covered_calendar: Calendar
    working_calendar: WorkingHours
    # The team's working calendars by id (its groups' and clouds' own), when asked for
    calendars: dict[int, WorkingHours] = field(default_factory=dict)

    def covered(self, start: datetime, end: datetime) -> timedelta:
        return business_time_between(start, end, self.covered_calendar, self.tz)

    def working(self, start: datetime, end: datetime) -> timedelta:
        """Working time in the team's calendar."""
        return self.working_in(None)(start, end)

    def working_in(self, calendar_id: int | None) -> Callable[[datetime, datetime], timedelta]:
        """Working time in calendar ``calendar_id`` (an escalation's: its group's), else in
        the team's."""
        hours = self.calendars.get(calendar_id or 0, self.working_calendar)
        return lambda start, end: business_time_between(start, end, hours, hours.tz)

    def zone_at(self, at: datetime) -> str:
        """The zone covering ``at``, or the one whose shift comes next (as routing does)."""
        slot = covering_slot(self.zones, at, self.tz, self.closures)
        if slot is None:
            slot = next_slot(self.zones, at, self.tz, self.closures)
        return slot.zone if slot else ""


def team_calendar(
    team: Team,
    first: date,
    last: date,
    zones: list[Zone] | None = None,
    *,
    group_calendars: bool = False,
) -> TeamCalendar:
    """The team's calendars on the local days first..last (a day either side for slots
    running past midnight); ``group_calendars``: its every working calendar too (one query
    more), for the escalations' waits."""
    tz = ZoneInfo(team.time_zone)
    if zones is None:
        zones = list(Zone.objects.filter(team=team))
    closures = list(Closure.objects.filter(team=team).values_list("starts_on", "ends_on"))
    hours = [zone_hours(z) for z in zones]
    slots = [
        slot
        for zone in hours
        for slot in slots_in(
            zone, first - timedelta(days=1), last + timedelta(days=1), tz, closures
        )
    ]
    # The team's working calendar, as escalation.calendars counts a target in it, with the
    # closures read here already.
    working = hours_of(team.calendar, team, tuple(closures))
    calendars = {}
    if group_calendars:
        rows = WorkingCalendar.objects.filter(team=team)
        calendars = {row.pk: hours_of(row, team, tuple(closures)) for row in rows}
    return TeamCalendar(
        tz,
        hours,
        closures,
        slots,
        intervals_calendar([(s.starts_at, s.ends_at) for s in slots], tz),
        working,
        calendars,
    )

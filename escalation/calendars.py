"""Which calendar a target counts in, and the arithmetic on it.

A target counts the time of whoever it waits on: an expert group's or a cloud's answer in
that group's working calendar (a site without one uses its cloud's; a group without one, the
team's), a next level of coordinators and a silent requester in the team's, the shifter's
first answer in the team's covered shift hours. A team without a calendar works Monday to
Friday from WORKDAY_START for WORKDAY_HOURS in its own time zone. The team's closures
(shift calendar) apply to the team's calendar; a group's own calendar has its own holidays.

Everything read here is read once per key within a ``common.memo.memo_scope`` (a timer
sweep's chunk): the calendar rows and the closures, not once a step.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings

from common.memo import scoped
from escalation.businesstime import Calendar, WorkingHours, add_business_time, intervals_calendar
from people.models import Team, WorkingCalendar
from people.workdays import day_length, hours_label, parse_holidays, weekdays_label
from shifts.models import Closure, Zone
from shifts.rota import slots_in
from shifts.selectors import zone_hours

HOUR = timedelta(hours=1)


def _closures(team: Team) -> tuple[tuple[date, date], ...]:
    return scoped(
        ("closures", team.pk),
        lambda: tuple(Closure.objects.filter(team=team).values_list("starts_on", "ends_on")),
    )


def _calendar_row(pk: int) -> WorkingCalendar | None:
    return scoped(("working_calendar", pk), lambda: WorkingCalendar.objects.filter(pk=pk).first())


def _in_force(team: Team, calendar_id: int | None) -> WorkingCalendar | None:
    pk = calendar_id or team.calendar_id
    return _calendar_row(pk) if pk else None


def hours_of(
    calendar: WorkingCalendar | None, team: Team, closures: tuple[tuple[date, date], ...]
) -> WorkingHours:
    """The working hours of ``calendar`` (None: the installation's default, in the team's
    time zone); the team's ``closures`` count only for the team's own calendar."""
    if calendar is None:
        return WorkingHours(
            ZoneInfo(team.time_zone),
            settings.WORKDAY_START,
            timedelta(hours=settings.WORKDAY_HOURS),
            frozenset(range(1, 6)),
            closures,
        )
    own = calendar.pk == team.calendar_id
    return WorkingHours(
        ZoneInfo(calendar.time_zone),
        calendar.starts_at,
        day_length(calendar.starts_at, calendar.ends_at),
        frozenset(int(d) for d in calendar.weekdays),
        (closures if own else ()) + parse_holidays(calendar.holidays),
    )


def working_hours(team: Team, calendar_id: int | None = None) -> WorkingHours:
    """The working hours a target of ``team`` counts in: calendar ``calendar_id`` (a
    group's), else the team's."""
    pk = calendar_id or team.calendar_id
    return scoped(
        ("working_hours", team.pk, pk),
        lambda: hours_of(_in_force(team, calendar_id), team, _closures(team)),
    )


def working_day(team: Team, calendar_id: int | None = None) -> timedelta:
    """The length of one working day in that calendar (waiting-on-user days)."""
    return working_hours(team, calendar_id).length


def calendar_label(team: Team, calendar_id: int | None = None) -> str:
    """How the mails name the calendar: "Mon-Fri 08:00-16:00 Europe/Zurich"."""
    calendar = _in_force(team, calendar_id)
    if calendar is not None:
        return calendar.label
    end = (
        datetime.combine(date(2000, 1, 1), settings.WORKDAY_START)
        + timedelta(hours=settings.WORKDAY_HOURS)
    ).time()
    return f"{weekdays_label('12345')} {hours_label(settings.WORKDAY_START, end)} {team.time_zone}"


def after_working(
    team: Team, start: datetime, hours: float, calendar_id: int | None = None
) -> datetime:
    """``hours`` of working time after ``start`` in that calendar."""
    hours_open = working_hours(team, calendar_id)
    return add_business_time(start, hours * HOUR, hours_open, hours_open.tz)


def covered_hours(team: Team, start: datetime, days: int = 60) -> Calendar:
    """The team's shift hours (every zone's slots, closures excepted) from ``start`` on;
    built once per local day within a ``common.memo.memo_scope`` (a sweep's batch)."""
    tz = ZoneInfo(team.time_zone)
    first = start.astimezone(tz).date() - timedelta(days=1)
    return scoped(("covered_hours", team.pk, first, days), lambda: _covered(team, first, days))


def _covered(team: Team, first: date, days: int) -> Calendar:
    tz = ZoneInfo(team.time_zone)
    last = first + timedelta(days=days)
    closures = list(_closures(team))
    zones = scoped(("zones", team.pk), lambda: list(Zone.objects.filter(team=team)))
    slots = [s for zone in zones for s in slots_in(zone_hours(zone), first, last, tz, closures)]
    return intervals_calendar([(s.starts_at, s.ends_at) for s in slots], tz)


def after_covered(team: Team, start: datetime, hours: float) -> datetime:
    """``hours`` of the team's shift time after ``start`` (the shifter's first answer)."""
    return add_business_time(
        start, hours * HOUR, covered_hours(team, start), ZoneInfo(team.time_zone), horizon_days=59
    )

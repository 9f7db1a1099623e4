"""Business-time arithmetic for deadlines. Pure: data in, data out.

A deadline counts time only inside *open intervals*: the working hours of a working day (for
expert and site response targets and "waiting on user" reminders), or the zones' covered
shift hours (for the shifter's own first-response target). A calendar says which intervals
belong to a local date; this module adds a duration to an instant across them, skipping
nights, weekends and closures. All instants are aware; intervals are UTC, so an 8-hour
working day is 8 real hours also on the days the clocks change.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

Interval = tuple[datetime, datetime]
# local date -> the open intervals that start on it (UTC, sorted, not overlapping)
Calendar = Callable[[date], Sequence[Interval]]


@dataclass(frozen=True)
class WorkingHours:
    """Working days (ISO weekdays) from ``starts_at`` for ``length``, in ``tz``, minus
    closures (first, last) both included."""

    tz: ZoneInfo
    starts_at: time = time(8)
    length: timedelta = timedelta(hours=8)
    weekdays: frozenset[int] = frozenset(range(1, 6))
    closures: tuple[tuple[date, date], ...] = ()

    def __call__(self, day: date) -> list[Interval]:
        if day.isoweekday() not in self.weekdays:
            return []
        if any(first <= day <= last for first, last in self.closures):
            return []
        start = datetime.combine(day, self.starts_at, tzinfo=self.tz).astimezone(UTC)
        return [(start, start + self.length)]


def intervals_calendar(intervals: Iterable[Interval], tz: ZoneInfo) -> Calendar:
    """A calendar from explicit intervals (e.g. shift slots), keyed by their local start date."""
    by_day: dict[date, list[Interval]] = {}
    for start, end in intervals:
        by_day.setdefault(start.astimezone(tz).date(), []).append((start, end))
    for day in by_day.values():
        day.sort()
    return lambda day: by_day.get(day, [])


class NoBusinessTime(ValueError):
    """The calendar has no open interval within the horizon (e.g. a team with no zones)."""


def add_business_time(
    start: datetime,
    amount: timedelta,
    calendar: Calendar,
    tz: ZoneInfo,
    *,
    horizon_days: int = 400,
) -> datetime:
    """The instant when ``amount`` of open time has passed since ``start``. Starting outside
    open time, the count begins at the next open interval; a zero amount from a closed
    instant gives the next opening."""
    start = start.astimezone(UTC)
    left = amount
    # An interval starting the day before (a night shift) may still be open at ``start``.
    first = start.astimezone(tz).date() - timedelta(days=1)
    for offset in range(horizon_days + 1):
        for begin, end in calendar(first + timedelta(days=offset)):
            if end <= start:
                continue
            begin = max(begin, start)
            if begin + left <= end:
                return begin + left
            left -= end - begin
    raise NoBusinessTime(f"no open time within {horizon_days} days of {start.isoformat()}")


def business_time_between(
    start: datetime, end: datetime, calendar: Calendar, tz: ZoneInfo
) -> timedelta:
    """Open time between two instants (zero when ``end`` is not after ``start``)."""
    total = timedelta()
    if end <= start:
        return total
    day = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date()
    while day <= last:
        for begin, finish in calendar(day):
            overlap = min(finish, end) - max(begin, start)
            if overlap > timedelta():
                total += overlap
        day += timedelta(days=1)
    return total


def working_hours_text(hours: float) -> str:
    """'1 working hour', '8 working hours', '1.5 working hours', as mail to a group says it."""
    shown = f"{hours:g}"
    return f"{shown} working hour" + ("" if shown == "1" else "s")

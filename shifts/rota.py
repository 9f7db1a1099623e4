"""Shift arithmetic: which slot covers an instant, and when the next one starts. Pure.

A slot is (zone, local date). It starts at the zone's local start time on that date, in the
team's time zone, and lasts ``duration`` of real time: an 8-hour shift is 8 hours long also
on the nights the clocks change. A slot may run past midnight (NA ends at 24:00 Geneva time),
so an instant can be covered by the slot of the day before.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class ZoneHours:
    code: str
    starts_at: time  # local
    duration: timedelta
    weekdays: frozenset[int]  # ISO: 1 = Monday ... 7 = Sunday


@dataclass(frozen=True)
class Slot:
    zone: str
    day: date
    starts_at: datetime  # aware, UTC
    ends_at: datetime  # aware, UTC

    def covers(self, at: datetime) -> bool:
        return self.starts_at <= at < self.ends_at


def slot_on(zone: ZoneHours, day: date, tz: ZoneInfo) -> Slot:
    # Arithmetic on an aware datetime in its own zone is wall-clock arithmetic: 22:00 + 8 h
    # would be 06:00 whatever the clocks did that night. Count real time in UTC instead (this
    # also moves a start inside a spring-forward gap to the real instant after it).
    # Slots keep UTC times, so that whatever a caller adds or subtracts is real time too.
    start = datetime.combine(day, zone.starts_at, tzinfo=tz).astimezone(UTC)
    return Slot(zone.code, day, start, start + zone.duration)


def is_closed(day: date, closures: Iterable[tuple[date, date]]) -> bool:
    return any(first <= day <= last for first, last in closures)


def covering_slot(
    zones: Sequence[ZoneHours],
    at: datetime,
    tz: ZoneInfo,
    closures: Sequence[tuple[date, date]] = (),
) -> Slot | None:
    """The slot that covers the instant ``at``, or None outside covered hours."""
    local_day = at.astimezone(tz).date()
    for day in (local_day, local_day - timedelta(days=1)):
        if is_closed(day, closures):
            continue
        for zone in zones:
            if day.isoweekday() in zone.weekdays:
                slot = slot_on(zone, day, tz)
                if slot.covers(at):
                    return slot
    return None


def next_slot(
    zones: Sequence[ZoneHours],
    after: datetime,
    tz: ZoneInfo,
    closures: Sequence[tuple[date, date]] = (),
    horizon_days: int = 60,
) -> Slot | None:
    """The first slot starting at or after ``after`` (within ``horizon_days``)."""
    first = after.astimezone(tz).date()
    for offset in range(horizon_days + 1):
        day = first + timedelta(days=offset)
        if is_closed(day, closures):
            continue
        slots = sorted(
            (slot_on(z, day, tz) for z in zones if day.isoweekday() in z.weekdays),
            key=lambda s: s.starts_at,
        )
        for slot in slots:
            if slot.starts_at >= after:
                return slot
    return None


WEEK_MINUTES = 7 * 24 * 60


def _week_intervals(zone: ZoneHours) -> list[tuple[int, int]]:
    """The zone's covered hours as minutes of a local week, Monday 00:00 = 0."""
    start = zone.starts_at.hour * 60 + zone.starts_at.minute
    length = int(zone.duration.total_seconds() // 60)
    return [
        ((day - 1) * 24 * 60 + start, (day - 1) * 24 * 60 + start + length) for day in zone.weekdays
    ]


def overlap(a: ZoneHours, b: ZoneHours) -> int | None:
    """The ISO weekday on which zone ``a``'s hours overlap ``b``'s (in local wall time), or
    None. Hours may run past midnight and past Sunday into Monday, hence the week wrap."""
    for a_start, a_end in _week_intervals(a):
        for b_start, b_end in _week_intervals(b):
            for shift in (-WEEK_MINUTES, 0, WEEK_MINUTES):
                if max(a_start, b_start + shift) < min(a_end, b_end + shift):
                    return a_start // (24 * 60) + 1
    return None


def slots_in(
    zone: ZoneHours,
    first: date,
    last: date,
    tz: ZoneInfo,
    closures: Sequence[tuple[date, date]] = (),
) -> list[Slot]:
    """The zone's slots on the days first..last (both included), closed days left out."""
    days = (first + timedelta(days=n) for n in range((last - first).days + 1))
    return [
        slot_on(zone, day, tz)
        for day in days
        if day.isoweekday() in zone.weekdays and not is_closed(day, closures)
    ]

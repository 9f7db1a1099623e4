"""iCal feeds of bookings: a shifter's own, or a zone's. Built with the icalendar package."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from people.names import display_name
from shifts.models import Booking
from shifts.rota import slot_on
from shifts.selectors import zone_hours


def _who(booking: Booking) -> str:
    return display_name(booking.person)


def feed_calendar(
    title: str, bookings: Iterable[Booking], *, host: str, stamp: datetime, per_person: bool
) -> bytes:
    """An RFC 5545 calendar with one event per booking. Event times are UTC (a slot is real
    time, DST included); UIDs are stable so a client updates rather than duplicates."""
    cal = Calendar()
    cal.add("prodid", "-//DAST Desk//shift calendar//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", title)
    for booking in bookings:
        zone = booking.zone
        tz = ZoneInfo(zone.team.time_zone)
        slot = slot_on(zone_hours(zone), booking.day, tz)
        role = booking.get_role_display().lower()
        event = Event()
        event.add("uid", f"booking-{booking.pk}@{host}")
        event.add("dtstamp", stamp)
        event.add("dtstart", slot.starts_at)
        event.add("dtend", slot.ends_at)
        if per_person:
            event.add("summary", f"{zone.team.name} {zone.code} shift ({role})")
        else:
            event.add("summary", f"{zone.code}: {_who(booking)} ({role})")
        event.add(
            "description",
            f"{zone.name} shift, {slot.starts_at.astimezone(tz):%H:%M}-"
            f"{slot.ends_at.astimezone(tz):%H:%M} {zone.team.time_zone} time.",
        )
        event.add("categories", [zone.code])
        cal.add_component(event)
    return cal.to_ical()

"""Writes on the shift calendar: bookings, swaps, zones, coverage alerts.

Every refusal is a ``ShiftError`` whose message says what is wrong in words a coordinator
understands; the views show it and the API returns it as a 400 (``ShiftForbidden``: 403).
Nothing is half-written: each service is one transaction.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from people.access import is_coordinator
from people.models import Team
from people.names import display_name
from shifts.models import Booking, CalendarFeed, Closure, CoverageAlert, ShiftRole, Zone
from shifts.rota import ZoneHours, overlap
from shifts.rules import (
    ShiftError,
    ShiftForbidden,
    calendar_link,
    check_role,
    check_slot_open,
    notify,
    slot_of,
)
from shifts.selectors import uncovered_slots, zone_hours
from shifts.swaps import swap_approve, swap_cancel, swap_decide, swap_request

WEEKDAYS_RE = re.compile(r"^[1-7]{1,7}$")


def booking_create(
    *, zone: Zone, day: date, person: User, role: str, by: User, at: datetime | None = None
) -> Booking:
    """Put ``person`` on the slot (zone, day). Shifters book themselves; coordinators anyone."""
    at = at or timezone.now()
    team = zone.team
    if by.pk != person.pk and not is_coordinator(team, by):
        raise ShiftForbidden("Only a coordinator can book someone else.")
    if role not in ShiftRole.values:
        raise ShiftError(f"Unknown role {role!r}.", field="role")
    check_role(team, person, role)
    check_slot_open(zone, day, at)
    with transaction.atomic():
        # The zone row lock orders concurrent bookings of one zone: the trainee rule below
        # reads the slot and must not race with the first-level shifter's release.
        Zone.objects.select_for_update().filter(pk=zone.pk).first()
        on_slot = list(Booking.objects.filter(zone=zone, day=day).values_list("person", "role"))
        if any(pk == person.pk for pk, _ in on_slot):
            raise ShiftError(
                f"{display_name(person)} is already booked on this slot.", field="person"
            )
        if role == ShiftRole.TRAINEE and not any(r == ShiftRole.FIRST_LEVEL for _, r in on_slot):
            raise ShiftError(
                "A trainee shadows a first-level shifter: book the first-level shifter on "
                "this slot first, so that it is not a trainee-only slot.",
                field="role",
            )
        try:
            with transaction.atomic():
                return Booking.objects.create(zone=zone, day=day, person=person, role=role)
        except IntegrityError:
            raise ShiftError(
                f"{display_name(person)} is already booked on this slot.", field="person"
            ) from None


def booking_remove(*, booking: Booking, by: User, at: datetime | None = None) -> None:
    """Take a booking off the calendar. A shifter may release their own slot until
    SHIFT_RELEASE_NOTICE_HOURS before it starts; later, and for anyone else, a coordinator.
    A slot that has started stays: it counts for credits (a coordinator corrects a no-show)."""
    at = at or timezone.now()
    zone = booking.zone
    coordinator = is_coordinator(zone.team, by)
    if booking.person_id != by.pk and not coordinator:
        raise ShiftForbidden("Only a coordinator can remove someone else's booking.")
    slot = slot_of(zone, booking.day)
    if slot.starts_at <= at and not coordinator:
        raise ShiftForbidden("This slot has started; only a coordinator can change it now.")
    notice = timedelta(hours=settings.SHIFT_RELEASE_NOTICE_HOURS)
    if not coordinator and slot.starts_at - at < notice:
        raise ShiftForbidden(
            f"The slot starts within {settings.SHIFT_RELEASE_NOTICE_HOURS} hours: ask a "
            "coordinator to release it, or ask someone to swap."
        )
    with transaction.atomic():
        Zone.objects.select_for_update().filter(pk=zone.pk).first()
        roles = list(
            Booking.objects.filter(zone=zone, day=booking.day)
            .exclude(pk=booking.pk)
            .values_list("role", flat=True)
        )
        if (
            slot.starts_at > at  # a coordinator correcting a no-show keeps the trainee
            and booking.role == ShiftRole.FIRST_LEVEL
            and ShiftRole.TRAINEE in roles
            and ShiftRole.FIRST_LEVEL not in roles
        ):
            raise ShiftError(
                "This would leave a trainee alone on the slot: remove the trainee first, or "
                "book another first-level shifter."
            )
        booking.delete()


# --- zones ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ZoneSpec:
    code: str
    name: str
    starts_at: time
    duration_minutes: int = 480
    weekdays: str = "12345"
    coordinator: User | None = None


def zone_save(*, team: Team, spec: ZoneSpec, zone: Zone | None = None) -> Zone:
    """Create or change a zone. Refuses hours that overlap another zone of the team: an
    instant has one covering slot, or routing would not know whose a ticket is."""
    if not WEEKDAYS_RE.match(spec.weekdays or ""):
        raise ShiftError(
            "Weekdays are ISO digits, 1=Monday ... 7=Sunday (e.g. 12345).", field="weekdays"
        )
    if not 15 <= spec.duration_minutes <= 24 * 60:
        raise ShiftError("A shift lasts 15 minutes to 24 hours.", field="duration_minutes")
    hours = ZoneHours(
        spec.code,
        spec.starts_at,
        timedelta(minutes=spec.duration_minutes),
        frozenset(int(d) for d in spec.weekdays),
    )
    zone = zone or Zone(team=team)
    for name in ("code", "name", "starts_at", "duration_minutes", "weekdays", "coordinator"):
        setattr(zone, name, getattr(spec, name))
    try:
        zone.full_clean(exclude=["team"], validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        name, problems = next(iter(error.message_dict.items()))
        raise ShiftError(f"{name}: {' '.join(problems)}", field=name) from None
    with transaction.atomic():
        # The team row lock orders concurrent zone changes, so two saves cannot both pass
        # the overlap check.
        Team.objects.select_for_update().filter(pk=team.pk).first()
        others = Zone.objects.filter(team=team)
        if zone.pk is not None:
            others = others.exclude(pk=zone.pk)
        for other in others:
            day = overlap(hours, zone_hours(other))
            if day is not None:
                weekday = date(2024, 1, day).strftime("%A")  # 2024-01-01 was a Monday
                raise ShiftError(
                    f"{spec.code} overlaps {other.code} on {weekday}s: zones may not share hours.",
                    field="starts_at",
                )
        try:
            with transaction.atomic():
                zone.save()
        except IntegrityError:
            raise ShiftError(f"{team.name} already has a zone {spec.code}.", field="code") from None
    return zone


# --- closures -------------------------------------------------------------------------------


def closure_create(
    *, team: Team, starts_on: date, ends_on: date, reason: str, at: datetime | None = None
) -> Closure:
    """Close the calendar on starts_on..ends_on. Bookings on those days are released and
    their holders told; days already begun cannot be closed (their credit is history)."""
    at = at or timezone.now()
    if ends_on < starts_on:
        raise ShiftError("A closure ends on or after the day it starts.", field="ends_on")
    if starts_on <= at.astimezone(ZoneInfo(team.time_zone)).date():
        raise ShiftError("A closure starts after today.", field="starts_on")
    with transaction.atomic():
        closure = Closure.objects.create(
            team=team, starts_on=starts_on, ends_on=ends_on, reason=reason
        )
        released = list(
            Booking.objects.filter(
                zone__team=team, day__gte=starts_on, day__lte=ends_on
            ).select_related("zone", "person")
        )
        for booking in released:
            notify(
                team,
                booking.person,
                "shift_cancelled",
                {
                    "what": f"{booking.zone.code} on {booking.day:%A %d %B}",
                    "closed_on": f"{booking.day:%d %B %Y}",
                    "reason": reason,
                    "code": booking.zone.code,
                },
                link=calendar_link(team, booking.day, f"d{booking.day:%Y-%m-%d}"),
            )
        Booking.objects.filter(pk__in=[b.pk for b in released]).delete()
    return closure


def closure_delete(*, closure: Closure) -> None:
    """Reopen the days; their slots start uncovered (and alerts say so)."""
    closure.delete()


# --- feeds ----------------------------------------------------------------------------------


def calendar_feed_for(*, person: User | None = None, zone: Zone | None = None) -> CalendarFeed:
    """The feed's secret, made on first use."""
    feed, _ = CalendarFeed.objects.get_or_create(
        person=person, zone=zone, defaults={"token": secrets.token_urlsafe(32)}
    )
    return feed


def calendar_feed_renew(*, feed: CalendarFeed) -> CalendarFeed:
    """A new secret: the old URL stops working at once."""
    feed.token = secrets.token_urlsafe(32)
    feed.save(update_fields=["token"])
    return feed


# --- coverage alerts ------------------------------------------------------------------------


def coverage_alert_send(*, at: datetime | None = None) -> int:
    """Mail each zone's coordinator the slots still uncovered in the next
    SHIFT_COVERAGE_ALERT_DAYS days that they have not heard about today. Returns the number
    of slots alerted. One transaction per zone, under the zone's row lock, so two beat
    processes cannot both alert the same slot."""
    at = at or timezone.now()
    alerted = 0
    zones = Zone.objects.filter(coordinator__isnull=False).select_related("team", "coordinator")
    for zone in zones:
        tz = ZoneInfo(zone.team.time_zone)
        today = at.astimezone(tz).date()
        last = today + timedelta(days=settings.SHIFT_COVERAGE_ALERT_DAYS)
        with transaction.atomic():
            Zone.objects.select_for_update().filter(pk=zone.pk).first()
            gaps = [s for s in uncovered_slots(zone, today, last) if s.starts_at > at]
            told = set(
                CoverageAlert.objects.filter(zone=zone, alerted_on=today).values_list(
                    "day", flat=True
                )
            )
            new = [s for s in gaps if s.day not in told]
            if not new:
                continue
            CoverageAlert.objects.bulk_create(
                [CoverageAlert(zone=zone, day=s.day, alerted_on=today) for s in new]
            )
            slots = [
                f"{s.starts_at.astimezone(tz):%a %d %b %H:%M}-{s.ends_at.astimezone(tz):%H:%M}"
                for s in new
            ]
            assert zone.coordinator is not None
            notify(
                zone.team,
                zone.coordinator,
                "shift_coverage_alert",
                {
                    "count": len(new),
                    "code": zone.code,
                    "days": settings.SHIFT_COVERAGE_ALERT_DAYS,
                    "time_zone": zone.team.time_zone,
                    "slots": slots,
                },
                link=calendar_link(zone.team, new[0].day, f"d{new[0].day:%Y-%m-%d}"),
            )
            alerted += len(new)
    return alerted


__all__ = [
    "ShiftError",
    "ShiftForbidden",
    "ZoneSpec",
    "booking_create",
    "booking_remove",
    "calendar_feed_for",
    "calendar_feed_renew",
    "closure_create",
    "closure_delete",
    "coverage_alert_send",
    "swap_approve",
    "swap_cancel",
    "swap_decide",
    "swap_request",
    "zone_save",
]

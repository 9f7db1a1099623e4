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
from django.urls import reverse
from django.utils import timezone

from people.access import is_coordinator
from people.models import Role, Team
from people.names import display_name
from shifts.models import (
    Booking,
    CalendarFeed,
    Closure,
    CoverageAlert,
    ShiftRole,
    SwapRequest,
    SwapState,
    Zone,
)
from shifts.notify import mail_person
from shifts.rota import Slot, ZoneHours, overlap, slot_on
from shifts.selectors import team_roles, uncovered_slots, zone_hours


class ShiftError(Exception):
    """A request the calendar refuses; ``field`` names the input at fault, when one is."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ShiftForbidden(ShiftError):
    """The request is well formed but this person may not make it."""


WEEKDAYS_RE = re.compile(r"^[1-7]{1,7}$")
# Which team role may hold which booking role.
ROLE_NEEDS = {ShiftRole.FIRST_LEVEL: Role.SHIFTER, ShiftRole.TRAINEE: Role.TRAINEE}


def _slot(zone: Zone, day: date) -> Slot:
    return slot_on(zone_hours(zone), day, ZoneInfo(zone.team.time_zone))


def _check_slot_open(zone: Zone, day: date, at: datetime) -> Slot:
    if not zone.covers_weekday(day):
        raise ShiftError(f"{zone.code} has no shift on {day:%A %d %B %Y}.", field="day")
    closure = Closure.objects.filter(team=zone.team, starts_on__lte=day, ends_on__gte=day).first()
    if closure is not None:
        raise ShiftError(
            f"{zone.team.name} is closed on {day:%d %B %Y} ({closure.reason}).", field="day"
        )
    slot = _slot(zone, day)
    if slot.starts_at <= at:
        raise ShiftError(f"The {zone.code} slot of {day:%d %B %Y} is in the past.", field="day")
    return slot


def _check_role(team: Team, person: User, role: str) -> None:
    needed = ROLE_NEEDS[ShiftRole(role)]
    if needed not in team_roles(team, person):
        raise ShiftError(
            f"{display_name(person)} is not a {needed.label.lower()} of {team.name}.",
            field="person",
        )


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
    _check_role(team, person, role)
    _check_slot_open(zone, day, at)
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
    slot = _slot(zone, booking.day)
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


# --- swaps ----------------------------------------------------------------------------------


def swap_request(
    *,
    booking: Booking,
    asked: User,
    by: User,
    in_return: Booking | None = None,
    note: str = "",
    at: datetime | None = None,
) -> SwapRequest:
    """``by`` asks ``asked`` to take ``booking`` (and to give ``in_return`` back). The asked
    shifter gets a mail; nothing changes on the calendar until they accept."""
    at = at or timezone.now()
    zone = booking.zone
    if booking.person_id != by.pk:
        raise ShiftForbidden("You can only offer your own bookings for a swap.")
    if asked.pk == by.pk:
        raise ShiftError("Ask someone else to swap with you.", field="asked")
    _check_role(zone.team, asked, booking.role)
    _check_slot_open(zone, booking.day, at)
    if in_return is not None:
        if in_return.person_id != asked.pk:
            raise ShiftError("The slot in return must be one of theirs.", field="in_return")
        if in_return.zone.team_id != zone.team_id:
            raise ShiftError("The slot in return belongs to another team.", field="in_return")
        _check_role(zone.team, by, in_return.role)
        _check_slot_open(in_return.zone, in_return.day, at)
    _check_free(asked, booking)
    if in_return is not None:
        _check_free(by, in_return)
    with transaction.atomic():
        try:
            with transaction.atomic():
                swap = SwapRequest.objects.create(
                    booking=booking, offered_by=by, asked=asked, in_return=in_return, note=note
                )
        except IntegrityError:
            raise ShiftError("This booking already has a swap request waiting.") from None
        give = f"{zone.code} on {booking.day:%A %d %B}"
        back = (
            f" and to give you their {in_return.zone.code} shift on {in_return.day:%A %d %B}"
            if in_return
            else ""
        )
        _notify(
            zone.team,
            asked,
            f"Swap request: {give}",
            f"{display_name(by)} asks you to take their {give} shift{back}.\n"
            + (f"\nTheir note: {note}\n" if note else "")
            + "\nAccept or decline it on the shift calendar.",
        )
    return swap


def _check_free(person: User, booking: Booking) -> None:
    if Booking.objects.filter(zone=booking.zone, day=booking.day, person=person).exists():
        raise ShiftError(f"{display_name(person)} is already booked on that slot.", field="asked")


def swap_decide(*, swap: SwapRequest, by: User, accept: bool, at: datetime | None = None) -> None:
    """The asked shifter accepts (the bookings change hands) or declines."""
    at = at or timezone.now()
    with transaction.atomic():
        swap = (
            SwapRequest.objects.select_for_update()
            .select_related("booking__zone__team")
            .get(pk=swap.pk)
        )
        if swap.asked_id != by.pk:
            raise ShiftForbidden("Only the shifter who was asked can answer this request.")
        if swap.state != SwapState.PENDING:
            raise ShiftError(f"This request is already {swap.get_state_display().lower()}.")
        booking, back = swap.booking, swap.in_return
        if accept:
            _check_slot_open(booking.zone, booking.day, at)
            _check_free(swap.asked, booking)
            if back is not None:
                _check_free(swap.offered_by, back)
            # Give the second booking back first: the asker may hold none of the asked one's.
            if back is not None:
                back.person = swap.offered_by
                back.save(update_fields=["person"])
            booking.person = swap.asked
            booking.save(update_fields=["person"])
        swap.state = SwapState.ACCEPTED if accept else SwapState.DECLINED
        swap.decided_at = at
        swap.save(update_fields=["state", "decided_at"])
        verdict = "accepted" if accept else "declined"
        _notify(
            booking.zone.team,
            swap.offered_by,
            f"Swap {verdict}: {booking.zone.code} on {booking.day:%A %d %B}",
            f"{display_name(swap.asked)} {verdict} your swap request for the {booking.zone.code} "
            f"shift on {booking.day:%A %d %B}.",
        )


def swap_cancel(*, swap: SwapRequest, by: User, at: datetime | None = None) -> None:
    with transaction.atomic():
        swap = SwapRequest.objects.select_for_update().get(pk=swap.pk)
        if swap.offered_by_id != by.pk:
            raise ShiftForbidden("Only the shifter who asked can withdraw this request.")
        if swap.state != SwapState.PENDING:
            raise ShiftError(f"This request is already {swap.get_state_display().lower()}.")
        swap.state = SwapState.CANCELLED
        swap.decided_at = at or timezone.now()
        swap.save(update_fields=["state", "decided_at"])


def _notify(team: Team, person: User, subject: str, body: str) -> None:
    """A mail about the calendar, with the calendar's link (every mail of the desk links
    to the page it is about)."""
    if person.email:
        link = f"{settings.SITE_URL}{reverse('shift-calendar')}?team={team.slug}"
        mail_person(
            team=team,
            to=[person.email],
            subject=f"[{team.name} shifts] {subject}",
            body_text=f"Hello {display_name(person)},\n\n{body}\n\n{link}\n",
        )


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
            _notify(
                team,
                booking.person,
                f"Shift cancelled: {booking.zone.code} on {booking.day:%A %d %B}",
                f"{team.name} is closed on {booking.day:%d %B %Y} ({reason}); your "
                f"{booking.zone.code} shift that day is cancelled.",
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
            lines = [
                f"  {s.starts_at.astimezone(tz):%a %d %b %H:%M}-"
                f"{s.ends_at.astimezone(tz):%H:%M}  nobody first-level"
                for s in new
            ]
            assert zone.coordinator is not None
            _notify(
                zone.team,
                zone.coordinator,
                f"{len(new)} uncovered {zone.code} slot{'s' if len(new) > 1 else ''}",
                f"These {zone.code} slots in the next {settings.SHIFT_COVERAGE_ALERT_DAYS} "
                f"days have no first-level shifter ({zone.team.time_zone} time):\n\n"
                + "\n".join(lines)
                + "\n\nBook someone on the shift calendar.",
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
    "swap_cancel",
    "swap_decide",
    "swap_request",
    "zone_save",
]

"""What every write on the calendar checks, and how it tells people: the refusals
(``ShiftError``, ``ShiftForbidden``), the slot and role checks, the notification mail with
its link. Shared by ``services`` (bookings, zones, closures), ``swaps`` and ``planning``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.contrib.auth.models import User
from django.urls import reverse

from common.errors import ApplicationError, Forbidden
from common.links import site_url
from people.access import is_coordinator
from people.models import Role, Team
from people.names import display_name
from shifts.models import Booking, Closure, ShiftRole, Zone
from shifts.notify import mail_person
from shifts.rota import Slot, slot_on
from shifts.selectors import team_roles, zone_hours


class ShiftError(ApplicationError):
    """A request the calendar refuses; ``field`` names the input at fault, when one is."""


class ShiftForbidden(Forbidden, ShiftError):
    """The request is well formed but this person may not make it (a 403 in the API)."""


# Which team role may hold which booking role.
ROLE_NEEDS = {ShiftRole.FIRST_LEVEL: Role.SHIFTER, ShiftRole.TRAINEE: Role.TRAINEE}


def slot_of(zone: Zone, day: date) -> Slot:
    return slot_on(zone_hours(zone), day, ZoneInfo(zone.team.time_zone))


def check_slot_open(zone: Zone, day: date, at: datetime) -> Slot:
    if not zone.covers_weekday(day):
        raise ShiftError(f"{zone.code} has no shift on {day:%A %d %B %Y}.", field="day")
    closure = Closure.objects.filter(team=zone.team, starts_on__lte=day, ends_on__gte=day).first()
    if closure is not None:
        raise ShiftError(
            f"{zone.team.name} is closed on {day:%d %B %Y} ({closure.reason}).", field="day"
        )
    slot = slot_of(zone, day)
    if slot.starts_at <= at:
        raise ShiftError(f"The {zone.code} slot of {day:%d %B %Y} is in the past.", field="day")
    return slot


def check_role(team: Team, person: User, role: str) -> None:
    needed = ROLE_NEEDS[ShiftRole(role)]
    if needed not in team_roles(team, person):
        raise ShiftError(
            f"{display_name(person)} is not a {needed.label.lower()} of {team.name}.",
            field="person",
        )


def check_free(person: User, booking: Booking) -> None:
    if Booking.objects.filter(zone=booking.zone, day=booking.day, person=person).exists():
        raise ShiftError(f"{display_name(person)} is already booked on that slot.", field="asked")


def require_coordinator(team: Team, person: User, what: str) -> None:
    if not is_coordinator(team, person):
        raise ShiftForbidden(f"Only a coordinator of {team.name} can {what}.")


def calendar_link(team: Team, day: date, anchor: str = "") -> str:
    """The absolute address of the calendar month showing ``day`` (for mails)."""
    query = urlencode({"team": team.slug, "month": f"{day:%Y-%m}"})
    return site_url(f"{reverse('shift-calendar')}?{query}", anchor)


def notify(
    team: Team, person: User, template: str, context: Mapping[str, object], *, link: str
) -> None:
    """Mail one person of the team, worded by the mail template ``template``, with the
    address of the page where they act on it. The template has ``context`` and ``name``
    (the person's), ``team`` (its name) and ``link``."""
    if person.email:
        mail_person(
            team=team,
            to=[person.email],
            template=template,
            context={"name": display_name(person), "team": team.name, "link": link, **context},
        )

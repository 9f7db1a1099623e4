"""Teams and their people: the bottom layer. Every app may use it; it uses no app.

A person is Django's ``User``; what they are in a team is a ``Membership`` row per role.
The tables keep the names they had when these models lived in ``tickets``.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from people.workdays import (
    CalendarTextError,
    day_length,
    hours_label,
    parse_holidays,
    weekdays_label,
)

TICKET_PREFIX_RE = re.compile(r"^[A-Z][A-Z0-9]{1,9}$")


def _validate_time_zone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"{value!r} is not a known time zone (e.g. Europe/Zurich)") from None


class Team(models.Model):
    """One support team (ATLAS DAST, biomed, ...). Everything else belongs to exactly one team."""

    slug = models.SlugField(unique=True)
    name = models.CharField(max_length=100)
    ticket_prefix = models.CharField(
        max_length=10,
        unique=True,
        validators=[
            RegexValidator(TICKET_PREFIX_RE, "2-10 capitals or digits, starting with a letter")
        ],
        help_text="Ticket numbers read PREFIX-1234.",
    )
    support_address = models.EmailField(help_text="The address users write to, e.g. the list.")
    time_zone = models.CharField(
        max_length=64, default="Europe/Zurich", validators=[_validate_time_zone]
    )
    calendar = models.ForeignKey(
        "WorkingCalendar",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=(
            "The team's working days and hours (expert targets, waiting-on-user days); "
            "groups and clouds without a calendar of their own use it. Empty: Monday-Friday, "
            "WORKDAY_START for WORKDAY_HOURS."
        ),
    )
    last_ticket_number = models.PositiveIntegerField(
        default=0, editable=False, help_text="Counter behind ticket numbers; only services move it."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "tickets_team"  # made when teams lived in tickets; kept, not copied
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ticket_prefix__regex=TICKET_PREFIX_RE.pattern),
                name="team_ticket_prefix_format",
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        if self.calendar is not None and self.calendar.team_id != self.pk:
            raise ValidationError({"calendar": "Choose one of this team's calendars."})


class Role(models.TextChoices):
    SHIFTER = "shifter", "First-level shifter"
    TRAINEE = "trainee", "Trainee shifter"
    COORDINATOR = "coordinator", "Coordinator"
    EXPERT = "expert", "Expert"
    ADMIN = "admin", "Team admin"


# Roles whose holders work the team's queue and so see all of its tickets.
DESK_ROLES = (Role.SHIFTER, Role.TRAINEE, Role.COORDINATOR, Role.ADMIN)


class Membership(models.Model):
    """A person's role in a team. One row per role: a coordinator may also be a shifter."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "tickets_membership"  # made when teams lived in tickets; kept, not copied
        constraints = [
            models.UniqueConstraint(fields=["team", "user", "role"], name="membership_unique_role")
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} in {self.team}"


def _validate_holidays(value: str) -> None:
    try:
        parse_holidays(value)
    except CalendarTextError as error:
        raise ValidationError(str(error)) from None


class WorkingCalendar(models.Model):
    """Working days and hours in a time zone, minus holidays: the time in which a target
    waiting on someone counts. A team has one by default (``Team.calendar``); an expert
    group, cloud or site may have its own."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="calendars")
    name = models.CharField(max_length=100)
    weekdays = models.CharField(
        max_length=7,
        default="12345",
        validators=[RegexValidator(r"^[1-7]{1,7}$", "ISO weekdays, 1=Monday ... 7=Sunday")],
        help_text="Working days as ISO weekday digits: 12345 = Monday-Friday, 1234567 = every day.",
    )
    starts_at = models.TimeField(default=time(8), help_text="Local start of a working day.")
    ends_at = models.TimeField(
        default=time(16), help_text="Local end of a working day; 00:00 means midnight."
    )
    time_zone = models.CharField(
        max_length=64, default="Europe/Zurich", validators=[_validate_time_zone]
    )
    holidays = models.TextField(
        blank=True,
        validators=[_validate_holidays],
        help_text="Days off, one a line: 2026-12-25, or a range 2026-12-24..2027-01-02.",
    )

    class Meta:
        ordering = ["team", "name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="calendar_unique_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name}: {self.label}"

    def clean(self) -> None:
        super().clean()
        if (
            self.starts_at is not None
            and self.ends_at is not None
            and day_length(self.starts_at, self.ends_at).total_seconds() <= 0
        ):
            raise ValidationError(
                {"ends_at": "The working day ends before it starts (00:00 means midnight)."}
            )

    @property
    def label(self) -> str:
        """How people read it: "Mon-Fri 08:00-16:00 Europe/Zurich"."""
        return (
            f"{weekdays_label(self.weekdays)} {hours_label(self.starts_at, self.ends_at)} "
            f"{self.time_zone}"
        )

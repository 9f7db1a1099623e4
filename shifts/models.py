"""The shift calendar: zones and their covered hours, closures, and bookings of people on slots.

A slot is (zone, date): the zone's covered hours on that local date. It is not stored; a
booking puts one person on one slot with a role.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

from tickets.models import Team


class Zone(models.Model):
    """A time zone of shifts (EU 08:00-16:00, NA 16:00-24:00 Geneva time, Monday-Friday)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="zones")
    code = models.CharField(
        max_length=8, validators=[RegexValidator(r"^[A-Z]{2,8}$", "2-8 capital letters")]
    )
    name = models.CharField(max_length=100)
    starts_at = models.TimeField(help_text="Local start, in the team's time zone.")
    duration_minutes = models.PositiveIntegerField(
        default=480,
        validators=[MinValueValidator(15), MaxValueValidator(24 * 60)],
        help_text="Real minutes covered, also across a daylight-saving change.",
    )
    weekdays = models.CharField(
        max_length=7,
        default="12345",
        validators=[RegexValidator(r"^[1-7]{1,7}$", "ISO weekdays, 1=Monday ... 7=Sunday")],
    )
    coordinator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="coordinated_zones",
    )

    class Meta:
        ordering = ["team", "starts_at"]
        constraints = [
            models.UniqueConstraint(fields=["team", "code"], name="zone_unique_code"),
        ]

    def __str__(self) -> str:
        return f"{self.team.ticket_prefix} {self.code}"

    def covers_weekday(self, day: date) -> bool:
        return str(day.isoweekday()) in self.weekdays


class Closure(models.Model):
    """Days without shifts for a team (end-of-year shutdown, ...), both ends included."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="closures")
    starts_on = models.DateField()
    ends_on = models.DateField()
    reason = models.CharField(max_length=200)

    class Meta:
        ordering = ["starts_on"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")),
                name="closure_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"{self.reason} ({self.starts_on} to {self.ends_on})"


class ShiftRole(models.TextChoices):
    FIRST_LEVEL = "first_level", "First level"
    TRAINEE = "trainee", "Trainee"


class Booking(models.Model):
    zone = models.ForeignKey(Zone, on_delete=models.CASCADE, related_name="bookings")
    day = models.DateField()
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shift_bookings"
    )
    role = models.CharField(max_length=16, choices=ShiftRole.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["day", "zone"]
        constraints = [
            models.UniqueConstraint(fields=["zone", "day", "person"], name="booking_unique_person"),
        ]
        indexes = [models.Index(fields=["zone", "day"], name="booking_zone_day")]

    def __str__(self) -> str:
        return f"{self.person} {self.get_role_display()} {self.zone} {self.day}"
